// LeakganSampleCategorical: one id per row of logits [N, V], drawn from
// softmax(scale * logits) by inverse transform sampling with the given uniforms
// u [N] in [0, 1): the smallest id k with sum_{j <= k} p_j > u (leakgan_tf/models/sampling.py).
//
// TensorFlow's categorical kernels walk each row with a scalar loop (max, exp and a
// running sum, one element at a time); at the generator's [1024, 5000] per step that
// was 15-20% of sampling on this project's 2-core CPU. Here the max and the exp pass
// are vectorised (a Cephes-style expf, within 2 ulp of std::exp), each chunk of
// kChunk probabilities is summed once, and the search walks the chunk sums (in
// double), then one chunk.
//
// Built at first use by leakgan_tf/models/native.py, with max_pooled_conv_grad.cc;
// CPU only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "native_ops.h"

namespace leakgan_tf {
namespace {

constexpr int64_t kChunk = 64;   // probabilities per partial sum
constexpr int kLanes = 16;       // independent accumulators: one AVX-512 register
constexpr float kLowest = -87.0f;  // exp(z) for z < kLowest is taken as 0 (below FLT_MIN)

// exp(z) for kLowest <= z <= 0 (Cephes expf: z = n ln2 + r, |r| <= ln2 / 2,
// exp(r) by a degree-5 polynomial, 2^n put into the exponent bits). n rounds
// z / ln2 to the nearest integer by truncating the non-negative 0.5 - z / ln2.
__attribute__((always_inline)) inline float ExpNonPositive(float z) {
  const int32_t k = static_cast<int32_t>(0.5f - z * 1.44269504088896341f);
  const float n = -static_cast<float>(k);
  float r = z - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (127 - k) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof(two_n));
  return p * two_n;
}

// The max of scale * logits[0, V), as lane-wise maxima (vectorised); -inf if none is larger.
LEAKGAN_CLONES float RowMax(const float* __restrict l, float scale, int64_t V) {
  float lanes[kLanes];
  for (int k = 0; k < kLanes; ++k) lanes[k] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= V; j += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const float v = scale * l[j + k];
      lanes[k] = v > lanes[k] ? v : lanes[k];
    }
  float m = -std::numeric_limits<float>::infinity();
  for (; j < V; ++j) m = scale * l[j] > m ? scale * l[j] : m;
  for (int k = 0; k < kLanes; ++k) m = lanes[k] > m ? lanes[k] : m;
  return m;
}

// e[j] = exp(scale * l[j] - top), 0 where that is below kLowest, -inf or NaN, and
// sums[c] = the sum of e over chunk c of kChunk (kLanes lane sums, then added as a
// tree: the same order on every machine). ExpNonPositive runs on every z and its
// result is masked afterwards (a clamp or a select of z before it kept GCC from
// vectorising the loop); for z out of its range the conversion to int gives x86's
// "integer indefinite", a value masked away.
LEAKGAN_CLONES void Exponentials(const float* __restrict l, float scale, float top, int64_t V, float* __restrict e,
                                 double* __restrict sums) {
  for (int64_t c = 0, j0 = 0; j0 < V; ++c, j0 += kChunk) {
    const int64_t end = j0 + kChunk < V ? j0 + kChunk : V;
    for (int64_t j = j0; j < end; ++j) {
      const float z = scale * l[j] - top;
      const int32_t kept = z >= kLowest ? -1 : 0;  // 0 for NaN too
      const float p = ExpNonPositive(z);
      int32_t bits;
      std::memcpy(&bits, &p, sizeof(bits));
      bits &= kept;
      std::memcpy(e + j, &bits, sizeof(bits));
    }
    float lanes[kLanes] = {};
    int64_t j = j0;
    for (; j + kLanes <= end; j += kLanes)
      for (int k = 0; k < kLanes; ++k) lanes[k] += e[j + k];
    for (int k = 0; j < end; ++j, ++k) lanes[k] += e[j];  // a short last chunk
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int k = 0; k < width; ++k) lanes[k] += lanes[k + width];
    sums[c] = lanes[0];
  }
}

// The id drawn for one row: the first chunk whose running sum exceeds u * total,
// then the first id in it whose running sum does. If rounding leaves the target
// past the end of a walk, the last id with a positive probability is taken.
int32_t Draw(const float* e, const double* sums, int64_t V, double u) {
  const int64_t chunks = (V + kChunk - 1) / kChunk;
  double total = 0.0;
  for (int64_t c = 0; c < chunks; ++c) total += sums[c];
  const double target = u * total;
  double before = 0.0;
  int64_t c = 0;
  while (c < chunks - 1 && before + sums[c] <= target) before += sums[c++];
  int64_t last = -1;
  for (int64_t j = c * kChunk, end = std::min(V, j + kChunk); j < end; ++j) {
    if (e[j] > 0.0f) {
      before += e[j];
      last = j;
      if (before > target) return static_cast<int32_t>(j);
    }
  }
  if (last >= 0) return static_cast<int32_t>(last);
  for (int64_t j = V - 1; j >= 0; --j)  // only when the whole walk found no mass at or after c
    if (e[j] > 0.0f) return static_cast<int32_t>(j);
  return 0;
}

class SampleCategoricalOp : public OpKernel {
 public:
  explicit SampleCategoricalOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    const Tensor& logits = c->input(0);    // [N, V]
    const Tensor& scale = c->input(1);     // []
    const Tensor& uniforms = c->input(2);  // [N]
    OP_REQUIRES(c, logits.dims() == 2 && logits.dim_size(1) >= 1,
                absl::InvalidArgumentError("logits must be [N, V] with V >= 1"));
    OP_REQUIRES(c, scale.dims() == 0, absl::InvalidArgumentError("scale must be a scalar"));
    const int64_t N = logits.dim_size(0), V = logits.dim_size(1);
    OP_REQUIRES(c, uniforms.shape() == TensorShape({N}), absl::InvalidArgumentError("uniforms must be [N]"));
    OP_REQUIRES(c, V <= std::numeric_limits<int32_t>::max(), absl::InvalidArgumentError("V must fit int32"));
    Tensor* ids_tensor;
    OP_REQUIRES_OK(c, c->allocate_output(0, TensorShape({N}), &ids_tensor));
    const float* l = logits.flat<float>().data();
    const float s = scale.scalar<float>()();
    const double* u = uniforms.flat<double>().data();
    int32_t* ids = ids_tensor->flat<int32_t>().data();
    ShardRows(c, N, 24 * V, [&](int64_t b0, int64_t b1) {
      std::vector<float> e(V);
      std::vector<double> sums((V + kChunk - 1) / kChunk);
      for (int64_t b = b0; b < b1; ++b) {
        const float* row = l + b * V;
        const float top = RowMax(row, s, V);
        if (!(top > -std::numeric_limits<float>::infinity()) || std::isinf(top)) {
          // all -inf (or NaN), or +inf: no finite distribution; the first max, NaN as -inf
          int64_t k = 0;
          for (int64_t j = 0; j < V; ++j) {
            const float v = s * row[j];
            if (v == top || (v != v && top < 0.0f)) {
              k = j;
              break;
            }
          }
          ids[b] = static_cast<int32_t>(k);
          continue;
        }
        Exponentials(row, s, top, V, e.data(), sums.data());
        ids[b] = Draw(e.data(), sums.data(), V, u[b]);
      }
    });
  }
};

REGISTER_OP("LeakganSampleCategorical")
    .Input("logits: float")
    .Input("scale: float")
    .Input("uniforms: double")
    .Output("ids: int32")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle logits;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &logits));
      c->set_output(0, c->Vector(c->Dim(logits, 0)));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("LeakganSampleCategorical").Device(tensorflow::DEVICE_CPU), SampleCategoricalOp);

}  // namespace
}  // namespace leakgan_tf
