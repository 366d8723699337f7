// What leakgan_tf's native ops share (native.py compiles them into one library):
// TensorFlow's kernel headers and names, ShardRows over the op's CPU threads, and
// LEAKGAN_CLONES, which builds a function once per vector ISA.
#ifndef LEAKGAN_TF_MODELS_NATIVE_OPS_H_
#define LEAKGAN_TF_MODELS_NATIVE_OPS_H_

#include <cstdint>
#include <functional>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// One build runs everywhere: the loader picks the widest vector ISA the CPU has.
// Whole loops are cloned (not one call per element), so their inner loops inline.
#define LEAKGAN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LEAKGAN_CLONES
#endif

namespace leakgan_tf {

using tensorflow::OpInputList;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::OpOutputList;
using tensorflow::Tensor;
using tensorflow::TensorShape;

// work(begin, end) over [0, total) split across the op's CPU threads; cost_per_unit
// is TensorFlow's estimate of one unit's cost (it sets how finely to split).
inline void ShardRows(OpKernelContext* c, int64_t total, int64_t cost_per_unit,
                      const std::function<void(int64_t, int64_t)>& work) {
  auto* pool = c->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(pool->num_threads, pool->workers, total, cost_per_unit, work);
}

}  // namespace leakgan_tf

#endif  // LEAKGAN_TF_MODELS_NATIVE_OPS_H_
