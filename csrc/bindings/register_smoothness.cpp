// fastgd._core.gram_bounds: the smoothness of the data term that learning_rate="auto" reads
// (fastgd/smoothness.hpp): λ_max of X̃ᵀSX̃/n by power iterations, and the largest row norm.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <variant>

#include "arrays.hpp"
#include "fastgd/smoothness.hpp"
#include "problem.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

py::tuple gram_bounds(const py::object& X, const std::optional<py::array>& sample_weight,
                      const std::optional<py::array>& noise_weight, double intercept_scale,
                      int n_threads, int max_iter, double rtol, index_t row_step,
                      bool check_finite) {
  if (!(std::isfinite(intercept_scale) && intercept_scale >= 0))
    value_error("intercept_scale must be finite and >= 0, got " + std::to_string(intercept_scale));
  if (n_threads < 1) value_error("n_threads must be >= 1, got " + std::to_string(n_threads));
  if (max_iter < 0) value_error("max_iter must be >= 0, got " + std::to_string(max_iter));
  if (row_step < 1) value_error("row_step must be >= 1, got " + std::to_string(row_step));
  if (!(std::isfinite(rtol) && rtol >= 0))
    value_error("rtol must be finite and >= 0, got " + std::to_string(rtol));
  py::object owner;
  // X's values are checked by the row norms' pass (GramBounds::finite_rows), and scanned only
  // when it finds a row that is not finite, to name the value (or find a square's overflow).
  const Features features = features_of(X, &owner, false, n_threads);
  const GramBounds b = std::visit(
      [&](const auto& view) {
        using T = typename std::decay_t<decltype(view)>::value_type;
        const T* sw = nullptr;
        if (sample_weight)
          sw = input_vector<T>(*sample_weight, "sample_weight", view.n_rows, "one per row of X");
        check_sample_weight_values(sw, view.n_rows);
        const T* u = nullptr;
        if (noise_weight) {
          u = input_vector<T>(*noise_weight, "noise_weight", view.n_rows, "one per row of X");
          if (index_t i = first_nonfinite(u, view.n_rows); i >= 0)
            value_error("noise_weight contains NaN or inf" + at_index(i));
          if (index_t i = first_negative(u, view.n_rows); i >= 0)
            value_error("noise_weight must be >= 0" + at_index(i));
        }
        // X and the weights stay referenced by `owner` and the arguments; no Python object is
        // touched in the passes.
        py::gil_scoped_release release;
        return fastgd::gram_bounds(view, sw, u, intercept_scale, n_threads, max_iter, rtol,
                                   row_step);
      },
      features);
  if (check_finite && !b.finite_rows) features_of(X, &owner, true, n_threads);
  return py::make_tuple(b.lambda_max, b.max_row, b.noise, b.iterations);
}

}  // namespace

void register_smoothness(py::module_& m) {
  m.def("gram_bounds", &gram_bounds, py::arg("X"), py::arg("sample_weight").noconvert() = py::none(),
        py::kw_only(), py::arg("noise_weight").noconvert() = py::none(),
        py::arg("intercept_scale") = 1.0, py::arg("n_threads") = 1,
        py::arg("max_iter") = 10, py::arg("rtol") = 1e-2, py::arg("row_step") = 1,
        py::arg("check_finite") = true,
        "(lambda_max, max_row, noise, iterations): the largest eigenvalue of X~'SX~/n, "
        "X~ = [X, c*1] with c = intercept_scale and S the sample weights (power iterations, each "
        "one fused pass over X, or over every row_step-th row, stopping when the estimate "
        "changes by at most rtol relatively; none at max_iter=0, lambda_max then 0), "
        "max_i s_i*|x~_i|^2, and mean_i u_i*|x~_i|^2 with u = noise_weight (0 without).");
}

}  // namespace fastgd::bindings
