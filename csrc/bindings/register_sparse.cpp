// fastgd._core: the fused kernels on CSR data (sgd_epoch_csr, loss_and_grad_csr).
//
// The CSR matrix arrives as its three arrays and its shape (the Python layer takes them from a
// scipy.sparse matrix without copying). Every buffer and value is checked first, with the GIL
// held; then the GIL is released for the whole kernel. Releasing it is safe: the kernels touch
// only raw buffers whose owners (the py::array arguments) stay referenced by this frame.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "arrays.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/sparse.hpp"
#include "fastgd/validation.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

using Shape = std::pair<index_t, index_t>;

// y and sample_weight in X's dtype, one per row, with their values checked.
template <class T>
std::pair<const T*, const T*> targets(const py::array& y,
                                      const std::optional<py::array>& sample_weight, index_t n,
                                      LossKind loss) {
  const T* yp = input_vector<T>(y, "y", n, "one target per row of X");
  const T* sw = nullptr;
  if (sample_weight) sw = input_vector<T>(*sample_weight, "sample_weight", n, "one per row of X");
  check_target_values(yp, n, is_classification(loss));
  check_sample_weight_values(sw, n);
  return {yp, sw};
}

py::tuple loss_and_grad_csr(const py::array& data, const py::array& indices,
                            const py::array& indptr, const Shape& shape, const py::array& y,
                            const py::array& coef, double intercept, LossKind loss,
                            PenaltyKind penalty, double alpha, double l1_ratio, double epsilon,
                            const std::optional<py::array>& sample_weight, int n_threads,
                            bool check_input) {
  check_penalty_and_threads(alpha, l1_ratio, epsilon, n_threads);
  if (!std::isfinite(intercept)) value_error("intercept must be finite");
  return with_dtype(data, "X.data", [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    return with_index_dtype(indices, indptr, [&](auto itag) -> py::tuple {
      using I = decltype(itag);
      const CsrView<T, I> X = csr_view<T, I>(data, indices, indptr, shape.first, shape.second,
                                             check_input, n_threads);
      const auto [yp, sw] = targets<T>(y, sample_weight, X.n_rows, loss);
      const index_t d = X.n_cols;
      const T* w = check_coef<T>(coef, {py::ssize_t(d)});
      py::array_t<T> grad(d);
      T* gp = grad.mutable_data();
      const Penalty pen = make_penalty(penalty, alpha, l1_ratio);
      acc_t objective = 0, grad_b = 0;
      {
        py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments
        objective = with_loss(loss, epsilon, [&](const auto& L) {
          return fastgd::loss_and_grad_csr(X, yp, sw, w, acc_t(intercept), L, pen, gp, &grad_b,
                                           n_threads);
        });
      }
      return py::make_tuple(double(objective), grad, double(grad_b));
    });
  });
}

double sgd_epoch_csr(const py::array& data, const py::array& indices, const py::array& indptr,
                     const Shape& shape, const py::array& y, py::array& coef,
                     py::array& intercept, const py::array& lrs, index_t batch_size,
                     const std::optional<py::array>& order, LossKind loss, PenaltyKind penalty,
                     double alpha, double l1_ratio, double epsilon,
                     const std::optional<py::array>& sample_weight, bool fit_intercept,
                     int n_threads, bool check_input, bool asynchronous) {
  check_penalty_and_threads(alpha, l1_ratio, epsilon, n_threads);
  if (batch_size < 1) value_error("batch_size must be >= 1, got " + std::to_string(batch_size));
  return with_dtype(data, "X.data", [&](auto tag) -> double {
    using T = decltype(tag);
    return with_index_dtype(indices, indptr, [&](auto itag) -> double {
      using I = decltype(itag);
      const CsrView<T, I> X = csr_view<T, I>(data, indices, indptr, shape.first, shape.second,
                                             check_input, n_threads);
      const auto [yp, sw] = targets<T>(y, sample_weight, X.n_rows, loss);
      const index_t d = X.n_cols;
      const auto wb = check_weights<T>(coef, intercept, {py::ssize_t(d)}, 1);
      T *w = wb.first, *b = wb.second;
      index_t n_rows = 0;
      const std::int64_t* perm = check_order(order, X.n_rows, &n_rows);
      const double* lr = check_lrs(lrs, (n_rows + batch_size - 1) / batch_size);
      const CsrEpochArgs<T, I> args{X,          yp,
                                    sw,         perm,
                                    n_rows,     lr,
                                    batch_size, make_penalty(penalty, alpha, l1_ratio),
                                    fit_intercept, n_threads,
                                    asynchronous};
      py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments
      return double(with_loss(loss, epsilon, [&](const auto& L) {
        return fastgd::sgd_epoch_csr(args, L, w, b);
      }));
    });
  });
}

}  // namespace

void register_sparse(py::module_& m) {
  m.def("loss_and_grad_csr", &loss_and_grad_csr, py::arg("data").noconvert(),
        py::arg("indices").noconvert(), py::arg("indptr").noconvert(), py::arg("shape"),
        py::arg("y").noconvert(), py::arg("coef").noconvert(), py::arg("intercept"),
        py::arg("loss"), py::arg("penalty"), py::arg("alpha"), py::arg("l1_ratio"),
        py::arg("epsilon"), py::arg("sample_weight").noconvert(), py::arg("n_threads"),
        py::arg("check_input"),
        "Full-batch objective and gradient on CSR data. See fastgd.ops.loss_and_grad.");
  m.def("sgd_epoch_csr", &sgd_epoch_csr, py::arg("data").noconvert(),
        py::arg("indices").noconvert(), py::arg("indptr").noconvert(), py::arg("shape"),
        py::arg("y").noconvert(), py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
        py::arg("lrs").noconvert(), py::arg("batch_size"), py::arg("order").noconvert(),
        py::arg("loss"), py::arg("penalty"), py::arg("alpha"), py::arg("l1_ratio"),
        py::arg("epsilon"), py::arg("sample_weight").noconvert(), py::arg("fit_intercept"),
        py::arg("n_threads"), py::arg("check_input"), py::arg("asynchronous"),
        "One epoch of fused minibatch SGD on CSR data, in place. See fastgd.ops.sgd_epoch.");
}

}  // namespace fastgd::bindings
