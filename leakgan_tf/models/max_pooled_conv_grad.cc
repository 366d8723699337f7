// LeakganMaxPooledConvGrad: the gradient of the discriminator's pooled features
//   m[b, F_i + f] = max_t relu(conv1d_valid(x, kernel_i)[b, t, f] + bias_i[f])
// for all its filter widths i in one op (leakgan_tf/models/pooled_conv.py).
//
// The max routes the gradient of row b and feature column g to the window(s)
// where the ReLU output equals the max and is positive, split equally among
// exact ties as TensorFlow's reduce_max gradient does. So each row and column
// adds one window-sized update to the kernel and input gradients, instead of
// the P = T - h + 1 updates of the dense convolution gradients (mostly zeros).
//
// Built at first use by leakgan_tf/models/native.py; CPU only.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace leakgan_tf {
namespace {

using tensorflow::OpInputList;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::OpOutputList;
using tensorflow::Tensor;
using tensorflow::TensorShape;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// One build runs everywhere: the loader picks the widest vector ISA the CPU has.
#define LEAKGAN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LEAKGAN_CLONES
#endif

// o[i] += v * a[i] for i < n.
LEAKGAN_CLONES void Axpy(float v, const float* __restrict a, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] += v * a[i];
}

// out[c, r] = in[r, c] for in [rows, cols], in tiles.
void Transpose(const float* __restrict in, int64_t rows, int64_t cols, float* __restrict out) {
  constexpr int64_t kTile = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * rows + r] = in[r * cols + c];
    }
}

// Gradient v reaches window t of row b for feature column g.
struct Route {
  int32_t b, t, g;
  float v;
};

class MaxPooledConvGradOp : public OpKernel {
 public:
  explicit MaxPooledConvGradOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    const Tensor& x = c->input(0);  // [N, T, E]
    OpInputList kernels, relus;     // [h_i, E, n_i] and [N, T - h_i + 1, n_i]
    OP_REQUIRES_OK(c, c->input_list("kernels", &kernels));
    OP_REQUIRES_OK(c, c->input_list("relus", &relus));
    const int widths = kernels.size();
    const Tensor& m = c->input(1 + 2 * widths);   // [N, F], F = sum n_i
    const Tensor& dm = c->input(2 + 2 * widths);  // [N, F]
    OP_REQUIRES(c, x.dims() == 3, absl::InvalidArgumentError("x must be [N, T, E]"));
    const int64_t N = x.dim_size(0), T = x.dim_size(1), E = x.dim_size(2);

    // Width i owns feature columns [first[i], first[i + 1]) and kt[kt_first[i] ...).
    std::vector<int64_t> first(widths + 1, 0), kt_first(widths + 1, 0), window(widths);
    for (int i = 0; i < widths; ++i) {
      const Tensor& k = kernels[i];
      OP_REQUIRES(c, k.dims() == 3 && k.dim_size(1) == E && k.dim_size(0) >= 1 && k.dim_size(0) <= T,
                  absl::InvalidArgumentError("kernels[i] must be [h_i, E, n_i] with 1 <= h_i <= T"));
      const int64_t h = k.dim_size(0), n = k.dim_size(2);
      OP_REQUIRES(c, relus[i].shape() == TensorShape({N, T - h + 1, n}),
                  absl::InvalidArgumentError("relus[i] must be [N, T - h_i + 1, n_i]"));
      window[i] = h * E;  // a window x[b, t : t + h, :] is h * E contiguous floats
      first[i + 1] = first[i] + n;
      kt_first[i + 1] = kt_first[i] + n * window[i];
    }
    const int64_t F = first[widths];
    OP_REQUIRES(c, m.shape() == TensorShape({N, F}) && dm.shape() == TensorShape({N, F}),
                absl::InvalidArgumentError("m and dm must be [N, sum n_i]"));
    std::vector<int32_t> width_of(F);
    for (int i = 0; i < widths; ++i) std::fill(width_of.begin() + first[i], width_of.begin() + first[i + 1], i);

    Tensor* dx_tensor;
    OpOutputList dkernels, dbiases;
    OP_REQUIRES_OK(c, c->allocate_output(0, x.shape(), &dx_tensor));
    OP_REQUIRES_OK(c, c->output_list("dkernels", &dkernels));
    OP_REQUIRES_OK(c, c->output_list("dbiases", &dbiases));
    for (int i = 0; i < widths; ++i) {
      Tensor* unused;
      OP_REQUIRES_OK(c, dkernels.allocate(i, kernels[i].shape(), &unused));
      OP_REQUIRES_OK(c, dbiases.allocate(i, TensorShape({first[i + 1] - first[i]}), &unused));
    }
    const float* xp = x.flat<float>().data();
    const float* mp = m.flat<float>().data();
    const float* dmp = dm.flat<float>().data();
    float* dx = dx_tensor->flat<float>().data();
    auto* pool = c->device()->tensorflow_cpu_worker_threads();
    auto shard = [&](int64_t total, int64_t cost_per_unit, const std::function<void(int64_t, int64_t)>& work) {
      tensorflow::Shard(pool->num_threads, pool->workers, total, cost_per_unit, work);
    };

    // kt: each kernel column (one filter) as a contiguous window-sized row.
    std::vector<float> kt(kt_first[widths]), dkt(kt_first[widths]);
    shard(widths, kt_first[widths] / widths, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        Transpose(kernels[i].flat<float>().data(), window[i], first[i + 1] - first[i], kt.data() + kt_first[i]);
    });

    // Each row's routes, width by width (row b's routes of width i are
    // by_row[b][row_first[b][i] : row_first[b][i + 1]]).
    std::vector<std::vector<Route>> by_row(N);
    std::vector<std::vector<int32_t>> row_first(N, std::vector<int32_t>(widths + 1, 0));
    shard(N, 2 * F * T, [&](int64_t b0, int64_t b1) {
      std::vector<int32_t> ties;
      for (int64_t b = b0; b < b1; ++b) {
        std::vector<Route>& routes = by_row[b];
        routes.reserve(F + F / 4);
        for (int i = 0; i < widths; ++i) {
          const int64_t n = first[i + 1] - first[i], P = relus[i].dim_size(1);
          const float* z = relus[i].flat<float>().data() + b * P * n;
          const float* mi = mp + b * F + first[i];
          const float* dmi = dmp + b * F + first[i];
          const size_t begin = routes.size();
          ties.assign(n, 0);
          for (int64_t t = 0; t < P; ++t)
            for (int64_t f = 0; f < n; ++f)
              if (z[t * n + f] == mi[f] && mi[f] > 0.0f) {
                ++ties[f];
                routes.push_back({static_cast<int32_t>(b), static_cast<int32_t>(t),
                                  static_cast<int32_t>(first[i] + f), dmi[f]});
              }
          for (size_t r = begin; r < routes.size(); ++r) {
            const int32_t count = ties[routes[r].g - first[i]];
            if (count > 1) routes[r].v /= static_cast<float>(count);
          }
          row_first[b][i + 1] = static_cast<int32_t>(routes.size());
        }
      }
    });
    // The same routes by feature column, rows ascending:
    // by_column[column_first[g] : column_first[g + 1]].
    std::vector<int64_t> column_first(F + 1, 0);
    for (const auto& routes : by_row)
      for (const Route& r : routes) ++column_first[r.g + 1];
    for (int64_t g = 0; g < F; ++g) column_first[g + 1] += column_first[g];
    std::vector<Route> by_column(column_first[F]);
    {
      std::vector<int64_t> next(column_first.begin(), column_first.end() - 1);
      for (const auto& routes : by_row)
        for (const Route& r : routes) by_column[next[r.g]++] = r;
    }

    // Kernel and bias gradients, column by column: dk[:, g] = sum v * window.
    shard(F, 2 * N * 16 * E, [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) {
        const int i = width_of[g];
        const int64_t W = window[i];
        float* dk = dkt.data() + kt_first[i] + (g - first[i]) * W;
        std::fill(dk, dk + W, 0.0f);
        float db = 0.0f;
        for (int64_t r = column_first[g]; r < column_first[g + 1]; ++r) {
          const Route& route = by_column[r];
          Axpy(route.v, xp + (route.b * T + route.t) * E, dk, W);
          db += route.v;
        }
        dbiases[i]->flat<float>().data()[g - first[i]] = db;
      }
    });
    // Input gradient, summed over widths, row by row: dx[b, t:t+h] += v * kernel[:, g].
    // Width-major, so one width's kernel rows stay in cache across the rows.
    shard(N, F * 16 * E, [&](int64_t b0, int64_t b1) {
      std::fill(dx + b0 * T * E, dx + b1 * T * E, 0.0f);
      for (int i = 0; i < widths; ++i) {
        const int64_t W = window[i];
        const float* kt_i = kt.data() + kt_first[i];
        for (int64_t b = b0; b < b1; ++b) {
          float* dx_b = dx + b * T * E;
          const std::vector<Route>& routes = by_row[b];
          for (int32_t r = row_first[b][i]; r < row_first[b][i + 1]; ++r)
            Axpy(routes[r].v, kt_i + (routes[r].g - first[i]) * W, dx_b + routes[r].t * E, W);
        }
      }
    });
    shard(widths, kt_first[widths] / widths, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        Transpose(dkt.data() + kt_first[i], first[i + 1] - first[i], window[i],
                  dkernels[i]->flat<float>().data());
    });
  }
};

REGISTER_OP("LeakganMaxPooledConvGrad")
    .Attr("num_widths: int >= 1")
    .Input("x: float")
    .Input("kernels: num_widths * float")
    .Input("relus: num_widths * float")
    .Input("m: float")
    .Input("dm: float")
    .Output("dx: float")
    .Output("dkernels: num_widths * float")
    .Output("dbiases: num_widths * float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int widths;
      TF_RETURN_IF_ERROR(c->GetAttr("num_widths", &widths));
      c->set_output(0, c->input(0));
      for (int i = 0; i < widths; ++i) {
        c->set_output(1 + i, c->input(1 + i));
        c->set_output(1 + widths + i, c->Vector(c->Dim(c->input(1 + i), 2)));
      }
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("LeakganMaxPooledConvGrad").Device(tensorflow::DEVICE_CPU), MaxPooledConvGradOp);

}  // namespace
}  // namespace leakgan_tf
