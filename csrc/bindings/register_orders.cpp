// fastgd._core.shuffle: NumPy's Generator.shuffle of a row order, the same permutation, faster
// (fastgd/shuffle.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>

#include "arrays.hpp"
#include "fastgd/shuffle.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

// NumPy's bitgen_t (numpy/random/bitgen.h), the C interface of its bit generators.
struct bitgen_t {
  void* state;
  std::uint64_t (*next_uint64)(void* state);
  std::uint32_t (*next_uint32)(void* state);
  double (*next_double)(void* state);
  std::uint64_t (*next_raw)(void* state);
};

struct NumpyBitGenerator {
  bitgen_t* g;
  std::uint32_t next_uint32() { return g->next_uint32(g->state); }
  std::uint64_t next_uint64() { return g->next_uint64(g->state); }
};

// The caller holds the bit generator's lock (its Python `lock`), as NumPy's own shuffle does.
void shuffle(const py::capsule& bit_generator, py::array& order) {
  if (!bit_generator.name() || std::strcmp(bit_generator.name(), "BitGenerator") != 0)
    type_error("bit_generator must be a NumPy BitGenerator's capsule (rng.bit_generator.capsule)");
  NumpyBitGenerator gen{static_cast<bitgen_t*>(bit_generator.get_pointer())};
  if (order.ndim() != 1) value_error("order must be a 1-D array, got " + describe(order));
  std::int64_t* a = inout_array<std::int64_t>(order, "order", {order.shape(0)}, "row indices");
  const index_t n = order.shape(0);
  py::gil_scoped_release release;  // the array and the generator stay referenced by the caller
  shuffle_like_numpy(gen, a, n);
}

}  // namespace

void register_orders(py::module_& m) {
  m.def("shuffle", &shuffle, py::arg("bit_generator"), py::arg("order").noconvert(),
        "Shuffles the int64 array `order` in place exactly as numpy.random.Generator.shuffle "
        "does from the same state (the caller holds rng.bit_generator.lock).");
}

}  // namespace fastgd::bindings
