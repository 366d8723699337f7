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
// Steps: the routes as dense [N, F] arrays (first winning position, ties, share;
// found with vectorised compares), the kernels transposed so that each filter is
// one contiguous window-sized row, then the kernel and bias gradients column by
// column and the input gradient row by row. Both add four windows per pass over
// their accumulator (Axpy4, the same roundings as four single updates): the
// updates are bound by loads and stores, not multiplications.
//
// Built at first use by leakgan_tf/models/native.py; CPU only.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "native_ops.h"

namespace leakgan_tf {
namespace {

// o[i] += v * a[i] for i < n.
inline void Axpy(float v, const float* __restrict a, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] += v * a[i];
}

// o[i] = o[i] + v[0] * a[0][i] + ... + v[3] * a[3][i], added in that order:
// the same roundings as four Axpy calls, with one load and store of o.
inline void Axpy4(const float* v, const float* const* a, float* __restrict o, int64_t n) {
  const float* __restrict a0 = a[0];
  const float* __restrict a1 = a[1];
  const float* __restrict a2 = a[2];
  const float* __restrict a3 = a[3];
  for (int64_t i = 0; i < n; ++i) o[i] = o[i] + v[0] * a0[i] + v[1] * a1[i] + v[2] * a2[i] + v[3] * a3[i];
}

// Windows added to one accumulator o [W], four per pass (Axpy4), in the order given.
class Accumulator {
 public:
  Accumulator(float* o, int64_t W) : o_(o), W_(W) {}
  void Add(float v, const float* a) {
    v_[pending_] = v;
    a_[pending_++] = a;
    if (pending_ == 4) {
      Axpy4(v_, a_, o_, W_);
      pending_ = 0;
    }
  }
  void Flush() {
    for (int p = 0; p < pending_; ++p) Axpy(v_[p], a_[p], o_, W_);
    pending_ = 0;
  }

 private:
  float* o_;
  int64_t W_;
  float v_[4];
  const float* a_[4];
  int pending_ = 0;
};

// The sizes of one width's filters: feature columns [first, first + n) of m,
// windows of h * E contiguous floats, P = T - h + 1 positions.
struct Width {
  int64_t first, n, window, positions;
  const float* kernel;  // [h, E, n] = [window, n]
  const float* relu;    // [N, P, n]
  float* dkernel;       // [window, n]
  float* dbias;         // [n]
  float* kt;            // [n, window]: the kernel's columns as rows
};

// Where the gradient of m[b, g] goes. win: the first position whose ReLU output
// equals the max, or -1 (max <= 0: the ReLU passes no gradient); ties: how many
// positions equal it; share: dm / ties.
struct Routes {
  int32_t* win;
  int32_t* ties;
  float* share;
};

// Rows [b0, b1) of the routes of one width: vectorised over the n columns.
LEAKGAN_CLONES void FindRoutes(const Width& w, int64_t F, const float* m, const float* dm, int64_t b0, int64_t b1,
                               Routes routes) {
  for (int64_t b = b0; b < b1; ++b) {
    const float* z = w.relu + b * w.positions * w.n;
    const float* mb = m + b * F + w.first;
    const float* dmb = dm + b * F + w.first;
    int32_t* win = routes.win + b * F + w.first;
    int32_t* ties = routes.ties + b * F + w.first;
    float* share = routes.share + b * F + w.first;
    for (int64_t f = 0; f < w.n; ++f) {
      win[f] = -1;
      ties[f] = 0;
    }
    for (int64_t t = w.positions - 1; t >= 0; --t) {  // backwards: win ends at the first hit
      const float* zt = z + t * w.n;
      for (int64_t f = 0; f < w.n; ++f) {
        const bool hit = zt[f] == mb[f];
        ties[f] += hit;
        win[f] = hit ? static_cast<int32_t>(t) : win[f];
      }
    }
    for (int64_t f = 0; f < w.n; ++f) {
      const bool routed = mb[f] > 0.0f && ties[f] > 0;
      share[f] = routed ? dmb[f] / static_cast<float>(routed ? ties[f] : 1) : 0.0f;
      win[f] = routed ? win[f] : -1;
    }
  }
}

// Kernel and bias gradients of columns [f0, f1) of one width:
// dkernel[:, f] = sum over rows of share * window, written into [window, n].
LEAKGAN_CLONES void KernelColumns(const Width& w, int64_t N, int64_t T, int64_t E, int64_t F, const float* x,
                                  const float* m, Routes routes, int64_t f0, int64_t f1, float* buffer) {
  const int64_t W = w.window;
  for (int64_t f = f0; f < f1; ++f) {
    const int64_t g = w.first + f;
    float* dk = buffer + (f - f0) * W;
    std::fill(dk, dk + W, 0.0f);
    Accumulator column(dk, W);
    float db = 0.0f;
    for (int64_t b = 0; b < N; ++b) {
      const int32_t t = routes.win[b * F + g];
      if (t < 0) continue;
      const float share = routes.share[b * F + g];
      db += share * routes.ties[b * F + g];
      if (routes.ties[b * F + g] == 1) {
        column.Add(share, x + (b * T + t) * E);
      } else {
        const float* z = w.relu + b * w.positions * w.n + f;
        for (int64_t s = t; s < w.positions; ++s)
          if (z[s * w.n] == m[b * F + g]) column.Add(share, x + (b * T + s) * E);
      }
    }
    column.Flush();
    w.dbias[f] = db;
  }
  // buffer [f1 - f0, W] into dkernel [W, n], in tiles of rows.
  constexpr int64_t kTile = 16;
  for (int64_t k0 = 0; k0 < W; k0 += kTile)
    for (int64_t f = f0; f < f1; ++f)
      for (int64_t k = k0; k < std::min(W, k0 + kTile); ++k) w.dkernel[k * w.n + f] = buffer[(f - f0) * W + k];
}

// Input gradient of rows [b0, b1), summed over widths: dx[b, t : t + h] += share * kernel[:, g].
// A row's routes of one width are taken by window position, four at a time.
LEAKGAN_CLONES void InputRows(const std::vector<Width>& widths, int64_t T, int64_t E, int64_t F, const float* m,
                              Routes routes, int64_t b0, int64_t b1, float* dx) {
  std::fill(dx + b0 * T * E, dx + b1 * T * E, 0.0f);
  std::vector<int32_t> start(T + 2), order;
  for (const Width& w : widths) {  // width-major: one width's kernel rows stay in cache across rows
    const int64_t W = w.window, P = w.positions;
    order.resize(w.n);
    for (int64_t b = b0; b < b1; ++b) {
      float* dx_b = dx + b * T * E;
      const int32_t* win = routes.win + b * F + w.first;
      const int32_t* ties = routes.ties + b * F + w.first;
      const float* share = routes.share + b * F + w.first;
      std::fill(start.begin(), start.begin() + P + 2, 0);
      for (int64_t f = 0; f < w.n; ++f)
        if (win[f] >= 0) ++start[win[f] + 2];
      for (int64_t t = 0; t < P; ++t) start[t + 2] += start[t + 1];
      for (int64_t f = 0; f < w.n; ++f)  // columns ascending within a position
        if (win[f] >= 0) order[start[win[f] + 1]++] = static_cast<int32_t>(f);
      // Now the columns of position t are order[start[t] : start[t + 1]].
      for (int64_t t = 0; t < P; ++t) {
        Accumulator window(dx_b + t * E, W);
        for (int32_t r = start[t]; r < start[t + 1]; ++r) {
          const int32_t f = order[r];
          if (ties[f] == 1) {
            window.Add(share[f], w.kt + f * W);
          } else {
            const float* z = w.relu + b * P * w.n + f;
            for (int64_t s = t; s < P; ++s)
              if (z[s * w.n] == m[b * F + w.first + f]) Axpy(share[f], w.kt + f * W, dx_b + s * E, W);
          }
        }
        window.Flush();
      }
    }
  }
}

// out[c, r] = in[r, c] for in [rows, cols] and columns [c0, c1), in tiles.
LEAKGAN_CLONES void Transpose(const float* __restrict in, int64_t rows, int64_t cols, int64_t c0, int64_t c1,
                              float* __restrict out) {
  constexpr int64_t kTile = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t ct = c0; ct < c1; ct += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile), ct1 = std::min(c1, ct + kTile);
      for (int64_t c = ct; c < ct1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * rows + r] = in[r * cols + c];
    }
}

class MaxPooledConvGradOp : public OpKernel {
 public:
  explicit MaxPooledConvGradOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    const Tensor& x = c->input(0);  // [N, T, E]
    OpInputList kernels, relus;     // [h_i, E, n_i] and [N, T - h_i + 1, n_i]
    OP_REQUIRES_OK(c, c->input_list("kernels", &kernels));
    OP_REQUIRES_OK(c, c->input_list("relus", &relus));
    const int count = kernels.size();
    const Tensor& m = c->input(1 + 2 * count);   // [N, F], F = sum n_i
    const Tensor& dm = c->input(2 + 2 * count);  // [N, F]
    OP_REQUIRES(c, x.dims() == 3, absl::InvalidArgumentError("x must be [N, T, E]"));
    const int64_t N = x.dim_size(0), T = x.dim_size(1), E = x.dim_size(2);

    std::vector<Width> widths(count);
    int64_t F = 0, kt_size = 0, max_window = 0;
    for (int i = 0; i < count; ++i) {
      const Tensor& k = kernels[i];
      OP_REQUIRES(c, k.dims() == 3 && k.dim_size(1) == E && k.dim_size(0) >= 1 && k.dim_size(0) <= T,
                  absl::InvalidArgumentError("kernels[i] must be [h_i, E, n_i] with 1 <= h_i <= T"));
      const int64_t h = k.dim_size(0), n = k.dim_size(2);
      OP_REQUIRES(c, relus[i].shape() == TensorShape({N, T - h + 1, n}),
                  absl::InvalidArgumentError("relus[i] must be [N, T - h_i + 1, n_i]"));
      widths[i] = {F, n, h * E, T - h + 1, k.flat<float>().data(), relus[i].flat<float>().data()};
      F += n;
      kt_size += n * h * E;
      max_window = std::max(max_window, h * E);
    }
    OP_REQUIRES(c, m.shape() == TensorShape({N, F}) && dm.shape() == TensorShape({N, F}),
                absl::InvalidArgumentError("m and dm must be [N, sum n_i]"));

    Tensor* dx_tensor;
    OpOutputList dkernels, dbiases;
    OP_REQUIRES_OK(c, c->allocate_output(0, x.shape(), &dx_tensor));
    OP_REQUIRES_OK(c, c->output_list("dkernels", &dkernels));
    OP_REQUIRES_OK(c, c->output_list("dbiases", &dbiases));
    Tensor kt_tensor, win_tensor, ties_tensor, share_tensor;
    OP_REQUIRES_OK(c, c->allocate_temp(tensorflow::DT_FLOAT, TensorShape({kt_size}), &kt_tensor));
    OP_REQUIRES_OK(c, c->allocate_temp(tensorflow::DT_INT32, TensorShape({N, F}), &win_tensor));
    OP_REQUIRES_OK(c, c->allocate_temp(tensorflow::DT_INT32, TensorShape({N, F}), &ties_tensor));
    OP_REQUIRES_OK(c, c->allocate_temp(tensorflow::DT_FLOAT, TensorShape({N, F}), &share_tensor));
    float* kt = kt_tensor.flat<float>().data();
    for (int i = 0; i < count; ++i) {
      Tensor* dk;
      Tensor* db;
      OP_REQUIRES_OK(c, dkernels.allocate(i, kernels[i].shape(), &dk));
      OP_REQUIRES_OK(c, dbiases.allocate(i, TensorShape({widths[i].n}), &db));
      widths[i].dkernel = dk->flat<float>().data();
      widths[i].dbias = db->flat<float>().data();
      widths[i].kt = kt;
      kt += widths[i].n * widths[i].window;
    }
    const float* xp = x.flat<float>().data();
    const float* mp = m.flat<float>().data();
    const float* dmp = dm.flat<float>().data();
    float* dx = dx_tensor->flat<float>().data();
    const Routes routes{win_tensor.flat<int32_t>().data(), ties_tensor.flat<int32_t>().data(),
                        share_tensor.flat<float>().data()};
    // Units of about equal work for the column passes: (width, first column,
    // end column) with about kUnit kernel floats each.
    constexpr int64_t kUnit = 16 * 1280;
    struct Unit {
      int width;
      int64_t f0, f1;
    };
    std::vector<Unit> units;
    for (int i = 0; i < count; ++i) {
      const int64_t step = std::max<int64_t>(1, kUnit / widths[i].window);
      for (int64_t f = 0; f < widths[i].n; f += step) units.push_back({i, f, std::min(widths[i].n, f + step)});
    }
    const int64_t unit_count = units.size();

    ShardRows(c, N, 2 * F * T, [&](int64_t b0, int64_t b1) {
      for (const Width& w : widths) FindRoutes(w, F, mp, dmp, b0, b1, routes);
    });
    ShardRows(c, unit_count, 2 * kUnit, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const Width& w = widths[units[u].width];
        Transpose(w.kernel, w.window, w.n, units[u].f0, units[u].f1, w.kt);
      }
    });
    // Kernel and bias gradients, column by column.
    ShardRows(c, unit_count, N * kUnit, [&](int64_t u0, int64_t u1) {
      std::vector<float> buffer(std::max(kUnit, max_window));  // a unit's columns
      for (int64_t u = u0; u < u1; ++u)
        KernelColumns(widths[units[u].width], N, T, E, F, xp, mp, routes, units[u].f0, units[u].f1, buffer.data());
    });
    // Input gradient, row by row.
    ShardRows(c, N, F * 16 * E, [&](int64_t b0, int64_t b1) { InputRows(widths, T, E, F, mp, routes, b0, b1, dx); });
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
      tensorflow::shape_inference::ShapeHandle x, k;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &x));
      c->set_output(0, x);
      for (int i = 0; i < widths; ++i) {
        TF_RETURN_IF_ERROR(c->WithRank(c->input(1 + i), 3, &k));
        c->set_output(1 + i, k);
        c->set_output(1 + widths + i, c->Vector(c->Dim(k, 2)));
      }
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("LeakganMaxPooledConvGrad").Device(tensorflow::DEVICE_CPU), MaxPooledConvGradOp);

}  // namespace
}  // namespace leakgan_tf
