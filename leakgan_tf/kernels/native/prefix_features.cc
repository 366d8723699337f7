// The free-running state of IncrementalPrefixFeatures (leakgan_tf/models/leaked.py)
// advanced one token, and the pooled features read from it, each in one pass:
//
//   LeakganPrefixAppend(position, terms, rows, done, opened, biases) -> (done', opened')
//   LeakganPrefixPooled(length, done, opened, suffix, biases) -> pooled [N, sum n_i]
//
// Per filter width h (n filters): done [N, n] is the running max of the complete
// windows' pre-activations, opened [N, h - 1, n] the partial sums of the windows
// still straddling the prefix end (newest first), terms[rows[r]] [sum h * n] row r's
// new token's terms C[j] (block [h, n] per width: terms is either the terms of the
// N new tokens with rows = 0..N-1, or a table of every token's terms with rows the
// tokens' table rows), suffix [h + 1, n] the padding sums
// S[m]. The TensorFlow path (leaked.py) does the same float additions in the same
// order, with about a dozen kernels that each read and write the state; here it
// is read once and written once. Results are bit-identical to it.
//
// Built at first use by leakgan_tf/models/native.py; CPU only; no gradient (the
// free-running features feed sampling, never a loss).
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "native_ops.h"

namespace leakgan_tf {
namespace {

// tf.maximum: NaN if either is NaN.
inline float Max(float a, float b) { return (a > b || a != a) ? a : b; }

struct Filter {
  int64_t h, n;
  const float* done;    // [N, n]
  const float* opened;  // [N, h - 1, n]
  const float* bias;    // [n]
  const float* suffix;  // [h + 1, n] (pooled only)
  float* done_out;      // [N, n] (append only)
  float* opened_out;    // [N, h - 1, n] (append only)
};

// Widths from the done/opened lists, checked against each other and N.
bool ReadFilters(OpKernelContext* c, int64_t* N, std::vector<Filter>* filters, int64_t* total_n) {
  OpInputList done, opened, biases;
  for (auto [name, list] : {std::pair{"done", &done}, {"opened", &opened}, {"biases", &biases}}) {
    const auto status = c->input_list(name, list);
    if (!status.ok()) {
      c->CtxFailure(status);
      return false;
    }
  }
  *N = done[0].dims() == 2 ? done[0].dim_size(0) : -1;
  *total_n = 0;
  for (int i = 0; i < done.size(); ++i) {
    const Tensor &d = done[i], &o = opened[i], &b = biases[i];
    if (d.dims() != 2 || d.dim_size(0) != *N || o.dims() != 3 || o.dim_size(0) != *N ||
        o.dim_size(2) != d.dim_size(1) || b.shape() != TensorShape({d.dim_size(1)})) {
      c->CtxFailure(absl::InvalidArgumentError(
          "done[i] must be [N, n_i], opened[i] [N, h_i - 1, n_i] and biases[i] [n_i]"));
      return false;
    }
    filters->push_back({o.dim_size(1) + 1, d.dim_size(1), d.flat<float>().data(), o.flat<float>().data(),
                        b.flat<float>().data(), nullptr, nullptr, nullptr});
    *total_n += d.dim_size(1);
  }
  return true;
}

// Row r of one width: the window the token completes joins the running max; the
// straddling windows shift by one and gain their terms (leaked.py, append).
LEAKGAN_CLONES void AppendRow(const Filter& w, int64_t r, const float* __restrict c, bool completes) {
  const int64_t h = w.h, n = w.n;
  const float* __restrict win = w.opened + r * (h - 1) * n;
  const float* __restrict best = w.done + r * n;
  float* __restrict best_out = w.done_out + r * n;
  float* __restrict win_out = w.opened_out + r * (h - 1) * n;
  const float* __restrict last_c = c + (h - 1) * n;
  for (int64_t f = 0; f < n; ++f) {
    const float last = h == 1 ? last_c[f] : win[(h - 2) * n + f] + last_c[f];
    best_out[f] = completes ? Max(best[f], last + w.bias[f]) : best[f];
  }
  if (h == 1) return;
  for (int64_t f = 0; f < n; ++f) win_out[f] = c[f];
  for (int64_t j = 1; j < h - 1; ++j)
    for (int64_t f = 0; f < n; ++f) win_out[j * n + f] = win[(j - 1) * n + f] + c[j * n + f];
}

class PrefixAppendOp : public OpKernel {
 public:
  explicit PrefixAppendOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    const Tensor& position = c->input(0);
    const Tensor& terms = c->input(1);
    const Tensor& rows = c->input(2);
    OP_REQUIRES(c, position.dims() == 0, absl::InvalidArgumentError("position must be a scalar"));
    int64_t N, total_n;
    std::vector<Filter> filters;
    if (!ReadFilters(c, &N, &filters, &total_n)) return;
    int64_t width_sum = 0;
    for (const Filter& w : filters) width_sum += w.h * w.n;
    OP_REQUIRES(c, terms.dims() == 2 && terms.dim_size(1) == width_sum,
                absl::InvalidArgumentError("terms must be [R, sum h_i * n_i]"));
    OP_REQUIRES(c, rows.shape() == TensorShape({N}), absl::InvalidArgumentError("rows must be [N]"));
    const int64_t R = terms.dim_size(0);
    const int32_t* rp = rows.flat<int32_t>().data();
    for (int64_t r = 0; r < N; ++r)
      OP_REQUIRES(c, rp[r] >= 0 && rp[r] < R, absl::InvalidArgumentError("rows must lie in [0, R)"));
    OpOutputList done_out, opened_out;
    OP_REQUIRES_OK(c, c->output_list("done_out", &done_out));
    OP_REQUIRES_OK(c, c->output_list("opened_out", &opened_out));
    for (size_t i = 0; i < filters.size(); ++i) {
      Tensor *d, *o;
      OP_REQUIRES_OK(c, done_out.allocate(i, TensorShape({N, filters[i].n}), &d));
      OP_REQUIRES_OK(c, opened_out.allocate(i, TensorShape({N, filters[i].h - 1, filters[i].n}), &o));
      filters[i].done_out = d->flat<float>().data();
      filters[i].opened_out = o->flat<float>().data();
    }
    const int64_t p = position.scalar<int32_t>()();
    const float* tp = terms.flat<float>().data();
    ShardRows(c, N, 4 * width_sum, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = tp + rp[r] * width_sum;
        for (const Filter& w : filters) {
          AppendRow(w, r, row, p >= w.h - 1);
          row += w.h * w.n;
        }
      }
    });
  }
};

// Row r of one width: the max over the complete windows, the straddling windows
// that exist for this length, and (while one exists) the all-padding window; ReLU.
LEAKGAN_CLONES void PooledRow(const Filter& w, int64_t r, int64_t length, int64_t seq_len, float* __restrict out) {
  const int64_t h = w.h, n = w.n, windows = seq_len - h + 1;
  const float* __restrict win = w.opened + r * (h - 1) * n;
  const float* __restrict bias = w.bias;
  const float* __restrict s = w.suffix;
  for (int64_t f = 0; f < n; ++f) out[f] = w.done[r * n + f];
  for (int64_t j = 0; j < h - 1; ++j) {
    const int64_t start = length - 1 - j;  // window p = length - 1 - j
    if (start < 0 || start > windows - 1) continue;
    for (int64_t f = 0; f < n; ++f) out[f] = Max(out[f], win[j * n + f] + s[(j + 1) * n + f] + bias[f]);
  }
  if (length <= windows - 1)
    for (int64_t f = 0; f < n; ++f) out[f] = Max(out[f], s[f] + bias[f]);
  for (int64_t f = 0; f < n; ++f) out[f] = out[f] > 0.0f || out[f] != out[f] ? out[f] : 0.0f;
}

class PrefixPooledOp : public OpKernel {
 public:
  explicit PrefixPooledOp(OpKernelConstruction* c) : OpKernel(c) {
    OP_REQUIRES_OK(c, c->GetAttr("seq_len", &seq_len_));
  }

  void Compute(OpKernelContext* c) override {
    const Tensor& length = c->input(0);
    OP_REQUIRES(c, length.dims() == 0, absl::InvalidArgumentError("length must be a scalar"));
    int64_t N, total_n;
    std::vector<Filter> filters;
    if (!ReadFilters(c, &N, &filters, &total_n)) return;
    OpInputList suffix;
    OP_REQUIRES_OK(c, c->input_list("suffix", &suffix));
    for (size_t i = 0; i < filters.size(); ++i) {
      OP_REQUIRES(c, suffix[i].shape() == TensorShape({filters[i].h + 1, filters[i].n}),
                  absl::InvalidArgumentError("suffix[i] must be [h_i + 1, n_i]"));
      OP_REQUIRES(c, filters[i].h <= seq_len_, absl::InvalidArgumentError("filter widths must not exceed seq_len"));
      filters[i].suffix = suffix[i].flat<float>().data();
    }
    Tensor* pooled;
    OP_REQUIRES_OK(c, c->allocate_output(0, TensorShape({N, total_n}), &pooled));
    float* out = pooled->flat<float>().data();
    const int64_t L = length.scalar<int32_t>()();
    ShardRows(c, N, 16 * total_n, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* row = out + r * total_n;
        for (const Filter& w : filters) {
          PooledRow(w, r, L, seq_len_, row);
          row += w.n;
        }
      }
    });
  }

 private:
  int64_t seq_len_;
};

REGISTER_OP("LeakganPrefixAppend")
    .Attr("num_widths: int >= 1")
    .Input("position: int32")
    .Input("terms: float")
    .Input("rows: int32")
    .Input("done: num_widths * float")
    .Input("opened: num_widths * float")
    .Input("biases: num_widths * float")
    .Output("done_out: num_widths * float")
    .Output("opened_out: num_widths * float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int widths;
      TF_RETURN_IF_ERROR(c->GetAttr("num_widths", &widths));
      for (int i = 0; i < 2 * widths; ++i) c->set_output(i, c->input(3 + i));
      return absl::OkStatus();
    });

REGISTER_OP("LeakganPrefixPooled")
    .Attr("num_widths: int >= 1")
    .Attr("seq_len: int >= 1")
    .Input("length: int32")
    .Input("done: num_widths * float")
    .Input("opened: num_widths * float")
    .Input("suffix: num_widths * float")
    .Input("biases: num_widths * float")
    .Output("pooled: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int widths;
      TF_RETURN_IF_ERROR(c->GetAttr("num_widths", &widths));
      auto total = c->MakeDim(0);
      tensorflow::shape_inference::ShapeHandle done, first;
      TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(1), 2, &first));
      for (int i = 0; i < widths; ++i) {
        TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(1 + i), 2, &done));
        TF_RETURN_IF_ERROR(c->Add(total, c->Dim(done, 1), &total));
      }
      c->set_output(0, c->Matrix(c->Dim(first, 0), total));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("LeakganPrefixAppend").Device(tensorflow::DEVICE_CPU), PrefixAppendOp);
REGISTER_KERNEL_BUILDER(Name("LeakganPrefixPooled").Device(tensorflow::DEVICE_CPU), PrefixPooledOp);

}  // namespace
}  // namespace leakgan_tf
