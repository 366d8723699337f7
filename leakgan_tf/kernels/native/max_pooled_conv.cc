// LeakganMaxPooledConv: the forward pass of the discriminator's pooled features
// for all its filter widths i in one op (leakgan_tf/models/pooled_conv.py):
//   relus_i[b, t, f] = relu(bias_i[f] + sum_k window(b, t)[k] * kernel_i[k, f])
//   m[b, F_i + f]     = max_t relus_i[b, t, f]
// where window(b, t) is x[b, t : t + h_i, :], h_i * E contiguous floats (k runs
// over the window), for t < P_i = T - h_i + 1. The relus are outputs because the
// gradient op (max_pooled_conv_grad.cc) finds the max's position in them.
//
// One GEMM per width, [N * P_i, h_i * E] . [h_i * E, n_i], whose rows are read in
// place (row (b, t) starts at x + (b * T + t) * E; rows overlap) instead of
// copied out as TensorFlow's convolution does. The kernel is packed into panels
// of 32 (or a last 16) filters, [h_i * E, 32] each, padded with zero filters; a
// tile of kRows rows by one panel keeps its sums in vector registers for the
// whole window (kRows * 2 accumulators of 16 floats), so each panel value loaded
// serves kRows multiply-adds. Tiles run panel-major, so a panel (at most
// 20 * 64 * 32 floats = 160 KB) stays in the L2 cache while the rows stream.
// Sums are in window order (k ascending) with fused multiply-adds: equal to
// TensorFlow's convolution up to float rounding (tests/test_pooled_conv.py).
// Where the CPU has AVX-512 the tile is written with its intrinsics (TileAvx512,
// chosen at run time); elsewhere GCC's vector extensions (Tile, in the generic,
// AVX2 and AVX-512 clones of Rows); both passed the same equality tests here.
// Only the AVX-512 tile beats TensorFlow's convolution: on an AVX2 machine (AMD
// Zen 3) the portable tile spills its accumulators (24x slower than TensorFlow's
// forward), and even an AVX2 intrinsics tile of 6 rows by 16 filters was slower
// (9.1 against 7.5 ms for the length-20 D batch, oneDNN on). So the op is used only
// where LeakganMaxPooledConvFast() says so (native.py asks it); elsewhere the
// forward stays TensorFlow's and only the gradient op runs.
//
// Built at first use by leakgan_tf/models/native.py; CPU only.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "native_ops.h"

namespace leakgan_tf {
namespace {

typedef float V16 __attribute__((vector_size(64)));  // 16 floats: one AVX-512 register
constexpr int64_t kLanes = 16;
constexpr int kRows = 6;  // rows per tile: 12 accumulators of the 32 AVX-512 registers

inline V16 Load(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline V16 Broadcast(float s) { return V16{} + s; }

// The tile and its caller contract a * b + c into one fused multiply-add where the
// clone's ISA has it (the library is otherwise built with -ffp-contract=off).
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

// acc[r][j] = sum_k rows[r][k] * panel[k * Vectors * 16 + 16 j : + 16], r < kRows.
template <int Vectors>
__attribute__((always_inline)) inline void Tile(const float* const* rows, const float* panel, int64_t W,
                                                V16 (&acc)[kRows][2]) {
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < Vectors; ++j) acc[r][j] = V16{};
  for (int64_t k = 0; k < W; ++k) {
    V16 p[Vectors];
    for (int j = 0; j < Vectors; ++j) p[j] = Load(panel + (k * Vectors + j) * kLanes);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const V16 x = Broadcast(rows[r][k]);
      for (int j = 0; j < Vectors; ++j) acc[r][j] = acc[r][j] + x * p[j];
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LEAKGAN_AVX512_TILE 1
// The same tile with AVX-512 intrinsics: each row's value is broadcast from memory by
// a load, where the generic tile's register broadcast competes with the
// multiply-adds for one execution port (about a third slower here).
template <int Vectors>
__attribute__((target("arch=x86-64-v4"), noinline)) void TileAvx512(const float* const* rows,
                                                                          const float* panel, int64_t W,
                                                                          V16 (&acc)[kRows][2]) {
  __m512 sums[kRows][2];
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < Vectors; ++j) sums[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < W; ++k) {
    __m512 p[Vectors];
    for (int j = 0; j < Vectors; ++j) p[j] = _mm512_loadu_ps(panel + (k * Vectors + j) * kLanes);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m512 x = _mm512_set1_ps(rows[r][k]);
      for (int j = 0; j < Vectors; ++j) sums[r][j] = _mm512_fmadd_ps(x, p[j], sums[r][j]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < Vectors; ++j) std::memcpy(&acc[r][j], &sums[r][j], sizeof(V16));
}
#endif

// Whether the AVX-512 tile runs here; $LEAKGAN_TF_CONV_TILE=generic says no, so that
// tests check the portable tile on an AVX-512 machine too.
bool HasAvx512Tile() {
  const char* cap = std::getenv("LEAKGAN_TF_CONV_TILE");
  if (cap != nullptr && std::strcmp(cap, "generic") == 0) return false;
#ifdef LEAKGAN_AVX512_TILE
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// One width's sizes and buffers.
struct Width {
  int64_t h, n, window, positions, first;  // window = h * E; columns [first, first + n) of m
  const float* kernel;                     // [window, n]
  const float* bias;                       // [n]
  float* relu;                             // [N, P, n]
  float* packed;                           // panels of [window, 32 or 16]
};

// Panel g of a width: filters [32 g, 32 g + Vectors * 16), its packed data.
struct Panel {
  int width, vectors;
  int64_t first_filter;
  float* data;
};

// The panel's filters of the kernel [window, n], zero beyond n.
LEAKGAN_CLONES void Pack(const Width& w, const Panel& p) {
  const int64_t cols = p.vectors * kLanes;
  for (int64_t k = 0; k < w.window; ++k)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t f = p.first_filter + c;
      p.data[k * cols + c] = f < w.n ? w.kernel[k * w.n + f] : 0.0f;
    }
}

// Rows [r0, r1) of width w (row r = b * P + t) against panel p: relu(sums + bias) into w.relu.
template <bool Avx512>
inline void RowsWith(const Width& w, const Panel& p, const float* x, int64_t T, int64_t E, int64_t r0,
                     int64_t r1) {
  const int64_t P = w.positions;
  const int64_t valid = std::min<int64_t>(p.vectors * kLanes, w.n - p.first_filter);
  V16 bias[2];
  float lanes[2 * kLanes];
  for (int64_t c = 0; c < 2 * kLanes; ++c) lanes[c] = p.first_filter + c < w.n ? w.bias[p.first_filter + c] : 0.0f;
  bias[0] = Load(lanes);
  bias[1] = Load(lanes + kLanes);
  V16 acc[kRows][2];
  const float* rows[kRows];
  for (int64_t r = r0; r < r1; r += kRows) {
    const int64_t count = std::min<int64_t>(kRows, r1 - r);
    for (int i = 0; i < kRows; ++i) {  // a short last tile repeats its last row
      const int64_t row = r + std::min<int64_t>(i, count - 1);
      rows[i] = x + ((row / P) * T + row % P) * E;
    }
#ifdef LEAKGAN_AVX512_TILE
    if constexpr (Avx512) {
      if (p.vectors == 2)
        TileAvx512<2>(rows, p.data, w.window, acc);
      else
        TileAvx512<1>(rows, p.data, w.window, acc);
    } else
#endif
    if (p.vectors == 2)
      Tile<2>(rows, p.data, w.window, acc);
    else
      Tile<1>(rows, p.data, w.window, acc);
    for (int64_t i = 0; i < count; ++i) {
      float out[2 * kLanes];
      for (int j = 0; j < p.vectors; ++j) {
        const V16 z = acc[i][j] + bias[j];
        const V16 relu = z > V16{} ? z : V16{};
        std::memcpy(out + j * kLanes, &relu, sizeof(relu));
      }
      std::memcpy(w.relu + (r + i) * w.n + p.first_filter, out, valid * sizeof(float));
    }
  }
}

LEAKGAN_CLONES void Rows(const Width& w, const Panel& p, const float* x, int64_t T, int64_t E, int64_t r0,
                         int64_t r1) {
  RowsWith<false>(w, p, x, T, E, r0, r1);
}


#pragma GCC pop_options

// m[b, first : first + n] = max over t of relu[b, t, :] for rows [b0, b1) of every width.
LEAKGAN_CLONES void MaxOverTime(const std::vector<Width>& widths, int64_t F, int64_t b0, int64_t b1, float* m) {
  for (const Width& w : widths)
    for (int64_t b = b0; b < b1; ++b) {
      float* mb = m + b * F + w.first;
      const float* z = w.relu + b * w.positions * w.n;
      std::copy(z, z + w.n, mb);
      for (int64_t t = 1; t < w.positions; ++t)
        for (int64_t f = 0; f < w.n; ++f) mb[f] = z[t * w.n + f] > mb[f] ? z[t * w.n + f] : mb[f];
    }
}

class MaxPooledConvOp : public OpKernel {
 public:
  explicit MaxPooledConvOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    const Tensor& x = c->input(0);  // [N, T, E]
    OpInputList kernels, biases;     // [h_i, E, n_i] and [n_i]
    OP_REQUIRES_OK(c, c->input_list("kernels", &kernels));
    OP_REQUIRES_OK(c, c->input_list("biases", &biases));
    OP_REQUIRES(c, x.dims() == 3, absl::InvalidArgumentError("x must be [N, T, E]"));
    const int64_t N = x.dim_size(0), T = x.dim_size(1), E = x.dim_size(2);
    const int count = kernels.size();

    std::vector<Width> widths(count);
    std::vector<Panel> panels;
    int64_t F = 0, packed_size = 0;
    for (int i = 0; i < count; ++i) {
      const Tensor& k = kernels[i];
      OP_REQUIRES(c, k.dims() == 3 && k.dim_size(1) == E && k.dim_size(0) >= 1 && k.dim_size(0) <= T,
                  absl::InvalidArgumentError("kernels[i] must be [h_i, E, n_i] with 1 <= h_i <= T"));
      const int64_t h = k.dim_size(0), n = k.dim_size(2);
      OP_REQUIRES(c, biases[i].shape() == TensorShape({n}), absl::InvalidArgumentError("biases[i] must be [n_i]"));
      widths[i] = {h, n, h * E, T - h + 1, F, k.flat<float>().data(), biases[i].flat<float>().data()};
      for (int64_t f = 0; f < n; f += 2 * kLanes) {
        const int vectors = n - f > kLanes ? 2 : 1;
        panels.push_back({i, vectors, f, nullptr});
        packed_size += vectors * kLanes * h * E;
      }
      F += n;
    }
    OpOutputList relus;
    OP_REQUIRES_OK(c, c->output_list("relus", &relus));
    for (int i = 0; i < count; ++i) {
      Tensor* relu;
      OP_REQUIRES_OK(c, relus.allocate(i, TensorShape({N, widths[i].positions, widths[i].n}), &relu));
      widths[i].relu = relu->flat<float>().data();
    }
    Tensor* m_tensor;
    OP_REQUIRES_OK(c, c->allocate_output(count, TensorShape({N, F}), &m_tensor));
    Tensor packed_tensor;
    OP_REQUIRES_OK(c, c->allocate_temp(tensorflow::DT_FLOAT, TensorShape({packed_size}), &packed_tensor));
    float* packed = packed_tensor.flat<float>().data();
    for (Panel& p : panels) {
      p.data = packed;
      packed += p.vectors * kLanes * widths[p.width].window;
    }
    if (N == 0) return;
    const float* xp = x.flat<float>().data();

    ShardRows(c, panels.size(), 2 * 32 * 1280, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) Pack(widths[panels[p].width], panels[p]);
    });
    // Units of about equal work: (panel, first row, end row), panel-major.
    constexpr int64_t kUnitFlops = 1 << 20;
    struct Unit {
      int panel;
      int64_t r0, r1;
    };
    std::vector<Unit> units;
    for (int p = 0; p < static_cast<int>(panels.size()); ++p) {
      const Width& w = widths[panels[p].width];
      const int64_t rows = N * w.positions, row_flops = 2 * w.window * panels[p].vectors * kLanes;
      const int64_t step = std::max<int64_t>(kRows, kUnitFlops / row_flops / kRows * kRows);
      for (int64_t r = 0; r < rows; r += step) units.push_back({p, r, std::min(rows, r + step)});
    }
    const bool avx512 = HasAvx512Tile();
    ShardRows(c, units.size(), kUnitFlops / 8, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const Panel& p = panels[units[u].panel];
#ifdef LEAKGAN_AVX512_TILE
        if (avx512) {
          RowsWith<true>(widths[p.width], p, xp, T, E, units[u].r0, units[u].r1);
          continue;
        }
#endif
        Rows(widths[p.width], p, xp, T, E, units[u].r0, units[u].r1);
      }
    });
    float* m = m_tensor->flat<float>().data();
    ShardRows(c, N, 2 * F * T, [&](int64_t b0, int64_t b1) { MaxOverTime(widths, F, b0, b1, m); });
  }
};

REGISTER_OP("LeakganMaxPooledConv")
    .Attr("num_widths: int >= 1")
    .Input("x: float")
    .Input("kernels: num_widths * float")
    .Input("biases: num_widths * float")
    .Output("relus: num_widths * float")
    .Output("m: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      // Every malformed shape is an error status here, never a CHECK failure: a filter
      // wider than the sequence (h > T) would otherwise make a negative dimension,
      // which aborts the whole process.
      using tensorflow::shape_inference::DimensionHandle;
      using tensorflow::shape_inference::ShapeHandle;
      int widths;
      TF_RETURN_IF_ERROR(c->GetAttr("num_widths", &widths));
      ShapeHandle x;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &x));
      DimensionHandle features = c->MakeDim(0);
      for (int i = 0; i < widths; ++i) {
        ShapeHandle k, b;
        TF_RETURN_IF_ERROR(c->WithRank(c->input(1 + i), 3, &k));
        TF_RETURN_IF_ERROR(c->WithRank(c->input(1 + widths + i), 1, &b));
        DimensionHandle merged;
        TF_RETURN_IF_ERROR(c->Merge(c->Dim(x, 2), c->Dim(k, 1), &merged));
        TF_RETURN_IF_ERROR(c->Merge(c->Dim(k, 2), c->Dim(b, 0), &merged));
        DimensionHandle positions = c->UnknownDim();
        if (c->ValueKnown(c->Dim(x, 1)) && c->ValueKnown(c->Dim(k, 0))) {
          const int64_t T = c->Value(c->Dim(x, 1)), h = c->Value(c->Dim(k, 0));
          if (h < 1 || h > T)
            return absl::InvalidArgumentError(absl::StrCat("LeakganMaxPooledConv: filter ", i, " has width ", h,
                                                           " but the sequences have length ", T,
                                                           "; every filter width must lie in [1, T]"));
          positions = c->MakeDim(T - h + 1);
        }
        c->set_output(i, c->MakeShape({c->Dim(x, 0), positions, c->Dim(k, 2)}));
        TF_RETURN_IF_ERROR(c->Add(features, c->Dim(k, 2), &features));
      }
      c->set_output(widths, c->MakeShape({c->Dim(x, 0), features}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("LeakganMaxPooledConv").Device(tensorflow::DEVICE_CPU), MaxPooledConvOp);

}  // namespace
}  // namespace leakgan_tf

// 1 where the op's forward is faster than TensorFlow's convolution (the AVX-512 tile
// runs), else 0: native.py then keeps TensorFlow's forward and uses only the gradient op.
extern "C" __attribute__((visibility("default"))) int LeakganMaxPooledConvFast() {
  return leakgan_tf::HasAvx512Tile() ? 1 : 0;
}
