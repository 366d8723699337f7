// LeakganApplyAdam: TensorFlow's ResourceApplyAdam (use_locking=False, no Nesterov)
// for N variables in one op, one pass over each variable's elements:
//
//   alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
//   m += (g - m) * (1 - beta1);  v += (g * g - v) * (1 - beta2)
//   var -= (m * alpha) / (sqrt(v) + epsilon)
//
// the same float operations in the same order as TensorFlow's CPU kernel (built with
// -ffp-contract=off, so no multiply-add is fused), hence the same bits. TensorFlow's
// kernel makes three passes over each variable (m, then v, then var) and, on this
// project's 2-core CPU, ran the discriminator's 30 dense updates (6.7 M weights) in
// 7-8 ms whether it had one thread or two; one pass split across the op's threads
// reads each of var, m, v, g once and writes var, m, v once (leakgan_tf/optimizers.py).
//
// As ResourceApplyAdam, a variable whose buffer is shared with a live read (or that
// is in copy-on-read mode) is copied before it is updated, so a value read earlier
// never changes. Built at first use by leakgan_tf/models/native.py; CPU only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "native_ops.h"
#include "tensorflow/core/framework/resource_mgr.h"
#include "tensorflow/core/framework/resource_var.h"

namespace leakgan_tf {
namespace {

using tensorflow::DT_FLOAT;
using tensorflow::Var;

REGISTER_OP("LeakganApplyAdam")
    .Input("variables: N * resource")
    .Input("m: N * resource")
    .Input("v: N * resource")
    .Input("grads: N * float")
    .Input("beta1_power: float")
    .Input("beta2_power: float")
    .Input("lr: float")
    .Input("beta1: float")
    .Input("beta2: float")
    .Input("epsilon: float")
    .Attr("N: int >= 1")
    .SetIsStateful()
    .SetShapeFn(tensorflow::shape_inference::NoOutputs);

struct Segment {
  float* w;
  float* m;
  float* v;
  const float* g;
  int64_t size;
};

LEAKGAN_CLONES void AdamRange(float* __restrict w, float* __restrict m, float* __restrict v,
                              const float* __restrict g, int64_t n, float alpha, float one_minus_beta1,
                              float one_minus_beta2, float epsilon) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] + (gi - m[i]) * one_minus_beta1;
    const float vi = v[i] + (gi * gi - v[i]) * one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] - (mi * alpha) / (std::sqrt(vi) + epsilon);
  }
}

// The tensor of resource input `index`, copied first if its buffer is shared
// (TensorFlow's PrepareToUpdateVariable); *out shares the variable's buffer.
tensorflow::Status TensorToUpdate(OpKernelContext* c, int index, Tensor* out) {
  tensorflow::core::RefCountPtr<Var> var;
  TF_RETURN_IF_ERROR(tensorflow::LookupResource(c, tensorflow::HandleFromInput(c, index), &var));
  tensorflow::mutex_lock lock(*var->mu());
  Tensor* tensor = var->tensor();
  if (!tensor->IsInitialized() || tensor->dtype() != DT_FLOAT)
    return tensorflow::errors::InvalidArgument("LeakganApplyAdam: input ", index,
                                               " is not an initialized float32 variable");
  if (var->copy_on_read_mode.load() || !tensor->RefCountIsOne()) {
    Tensor copy;
    TF_RETURN_IF_ERROR(c->allocate_temp(DT_FLOAT, tensor->shape(), &copy));
    std::copy_n(tensor->flat<float>().data(), tensor->NumElements(), copy.flat<float>().data());
    *tensor = copy;
  }
  *out = *tensor;
  return tensorflow::OkStatus();
}

class ApplyAdamOp : public OpKernel {
 public:
  explicit ApplyAdamOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    OpInputList grads;
    OP_REQUIRES_OK(c, c->input_list("grads", &grads));
    const int n = grads.size();
    const float beta1_power = c->input(4 * n).scalar<float>()();
    const float beta2_power = c->input(4 * n + 1).scalar<float>()();
    const float lr = c->input(4 * n + 2).scalar<float>()();
    const float beta1 = c->input(4 * n + 3).scalar<float>()();
    const float beta2 = c->input(4 * n + 4).scalar<float>()();
    const float epsilon = c->input(4 * n + 5).scalar<float>()();
    const float alpha = lr * std::sqrt(1.0f - beta2_power) / (1.0f - beta1_power);

    std::vector<Tensor> held(3 * n);  // keeps the buffers alive while they are updated
    std::vector<Segment> segments(n);
    int64_t total = 0;
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < 3; ++k) {
        OP_REQUIRES_OK(c, TensorToUpdate(c, k * n + i, &held[k * n + i]));
        OP_REQUIRES(c, held[k * n + i].shape() == grads[i].shape(),
                    tensorflow::errors::InvalidArgument("LeakganApplyAdam: variable ", i, " has shape ",
                                                        held[k * n + i].shape().DebugString(), ", its gradient ",
                                                        grads[i].shape().DebugString()));
      }
      segments[i] = {held[i].flat<float>().data(), held[n + i].flat<float>().data(),
                     held[2 * n + i].flat<float>().data(), grads[i].flat<float>().data(), grads[i].NumElements()};
      total += segments[i].size;
    }
    const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
    // Elements [begin, end) of the variables laid end to end.
    ShardRows(c, total, /*cost_per_unit=*/30, [&](int64_t begin, int64_t end) {
      int64_t start = 0;
      for (const Segment& s : segments) {
        const int64_t lo = std::max(begin, start), hi = std::min(end, start + s.size);
        if (lo < hi)
          AdamRange(s.w + (lo - start), s.m + (lo - start), s.v + (lo - start), s.g + (lo - start), hi - lo, alpha,
                    one_minus_beta1, one_minus_beta2, epsilon);
        start += s.size;
        if (start >= end) break;
      }
    });
  }
};

REGISTER_KERNEL_BUILDER(Name("LeakganApplyAdam").Device(tensorflow::DEVICE_CPU), ApplyAdamOp);

}  // namespace
}  // namespace leakgan_tf
