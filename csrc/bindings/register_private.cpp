// fastgd._core.private_sgd_steps: a chunk of DP-SGD steps (fastgd/private_sgd.hpp), and
// fastgd._core.philox4x64 / poisson_rows, the kernel's own random draws, for the tests' replay.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "arrays.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/private_sgd.hpp"
#include "optimizer_params.hpp"
#include "problem.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

void check_positive_finite(double v, const char* name) {
  if (!(std::isfinite(v) && v > 0))
    value_error(std::string(name) + " must be a finite number > 0, got " + std::to_string(v));
}

std::array<std::uint64_t, 2> key_of(const py::array& key) {
  const auto* k = input_vector<std::uint64_t>(key, "key", 2, "the 128-bit Philox key");
  return {k[0], k[1]};
}

// y: one value per row (a single-output pointwise loss) or class indices in [0, K).
template <class T>
PrivateTargets<T> private_targets(const py::array& y, index_t n, index_t K, LossKind loss,
                                  bool check) {
  PrivateTargets<T> t;
  if (K == 1 && is_pointwise(loss)) {
    t.values = input_vector<T>(y, "y", n, "one target per row of X");
    if (check) check_target_values(t.values, n, is_classification(loss));
    return t;
  }
  t.classes = input_vector<std::int64_t>(y, "y", n, "one class index per row of X");
  if (check)
    for (index_t i = 0; i < n; ++i)
      if (t.classes[i] < 0 || t.classes[i] >= K)
        value_error("y must hold class indices in [0, " + std::to_string(K) + ")" + at_index(i));
  return t;
}

template <class T>
OptimizerArgs<T> private_optimizer(OptimizerKind kind, const py::dict& params,
                                   std::optional<StateArrays>& state, index_t K, index_t d) {
  OptimizerArgs<T> args{kind, optimizer_params(params)};
  const OptimizerParams& p = args.params;
  for (double v : {p.momentum, p.dampening, p.alpha, p.beta1, p.beta2, p.eps, p.lr_decay,
                   p.weight_decay})
    if (!std::isfinite(v)) value_error("optimizer_params must be finite");
  if (kind == OptimizerKind::sgd) return args;
  if (!state)
    value_error("optimizer_state (coefficients' state, intercepts' state, step) is required with "
                "this optimizer (fastgd.optimizers allocates it)");
  const py::ssize_t S = state_arrays(kind);
  auto& [coef_state, intercept_state, step] = *state;
  args.coef_state = inout_array<T>(coef_state, "optimizer_state", {S, K, d}, "state x coef");
  args.intercept_state =
      inout_array<T>(intercept_state, "optimizer_intercept_state", {S, K}, "state x intercept");
  args.step = inout_array<std::int64_t>(step, "optimizer_step", {1}, "steps taken so far");
  if (*args.step < 0) value_error("optimizer_step must be >= 0");
  return args;
}

std::int64_t private_sgd_steps(const py::object& X, const py::array& y, py::array& coef,
                               py::array& intercept, const py::array& lrs, LossKind loss,
                               double loss_epsilon, std::int64_t first_step,
                               double sampling_rate, double clip_norm, double noise_multiplier,
                               const py::array& key, bool secure, PenaltyKind penalty,
                               double alpha, double l1_ratio, bool fit_intercept,
                               OptimizerKind optimizer, const py::dict& optimizer_params_,
                               std::optional<StateArrays> optimizer_state, bool check_input) {
  check_penalty_and_threads(alpha, l1_ratio, 0.0, 1);
  if (!(std::isfinite(loss_epsilon) && loss_epsilon >= 0))
    value_error("loss_epsilon must be a finite number >= 0, got " + std::to_string(loss_epsilon));
  if (!(sampling_rate > 0 && sampling_rate <= 1))
    value_error("sampling_rate must be in (0, 1], got " + std::to_string(sampling_rate));
  check_positive_finite(clip_norm, "clip_norm");
  if (!(std::isfinite(noise_multiplier) && noise_multiplier >= 0))
    value_error("noise_multiplier must be a finite number >= 0, got " +
                std::to_string(noise_multiplier));
  if (first_step < 0) value_error("first_step must be >= 0, got " + std::to_string(first_step));
  const auto k = key_of(key);
  py::object owner;
  const Features features = features_of(X, &owner, check_input, 1);
  return std::visit(
      [&](const auto& view) -> std::int64_t {
        using T = typename std::decay_t<decltype(view)>::value_type;
        const index_t n = view.n_rows, d = view.n_cols;
        if (coef.ndim() != 2)
          value_error("coef must have shape (n_outputs, n_features), got " + describe(coef));
        const index_t K = coef.shape(0);
        if (loss == LossKind::multinomial && K < 2)
          value_error("loss='multinomial' needs coef of at least 2 rows (one per class), got " +
                      describe(coef));
        T* w = inout_array<T>(coef, "coef", {K, d}, "n_outputs x n_features");
        T* b = inout_array<T>(intercept, "intercept", {K}, "one per output");
        if (first_nonfinite(w, K * d) >= 0 || first_nonfinite(b, K) >= 0)
          value_error("coef and intercept must be finite");
        if (lrs.ndim() != 1) value_error("lrs must be 1-D, got " + describe(lrs));
        const index_t n_steps = lrs.shape(0);
        const double* rates = input_vector<double>(lrs, "lrs", n_steps, "one rate per step");
        if (index_t s = first_nonfinite(rates, n_steps); s >= 0)
          value_error("lrs contains NaN or inf" + at_index(s));
        if (index_t s = first_negative(rates, n_steps); s >= 0)
          value_error("lrs must be >= 0" + at_index(s));
        if (first_step > std::numeric_limits<std::int64_t>::max() - n_steps)
          value_error("first_step + len(lrs) overflows");
        const PrivateTargets<T> targets = private_targets<T>(y, n, K, loss, check_input);
        OptimizerArgs<T> opt = private_optimizer<T>(optimizer, optimizer_params_,
                                                    optimizer_state, K, d);
        PrivateOptions o;
        o.sampling_rate = sampling_rate;
        o.clip_norm = clip_norm;
        o.noise_std = noise_multiplier * clip_norm;
        o.expected_batch = sampling_rate * double(n);
        o.key[0] = k[0];
        o.key[1] = k[1];
        o.noise_draws = secure ? 4 : 1;
        o.fit_intercept = fit_intercept;
        o.penalty = make_penalty(penalty, alpha, l1_ratio);
        const PrivateModel<T> model{w, b, K, d};
        std::vector<double> sum(std::size_t(K * (d + 1)), 0.0);
        // X, y, the model and the state stay referenced by the arguments and `owner`; the
        // kernel touches no Python object and throws nothing but bad_alloc before its first step.
        py::gil_scoped_release release;
        // The update through a pointer: the step loop is instantiated per (X, loss), not per
        // optimizer too, which keeps the build small; it costs one indirect call per step.
        using UpdateFn = void (*)(const PrivateModel<T>&, double*, const PrivateOptions&,
                                  std::uint64_t, double, OptimizerArgs<T>&) noexcept;
        const UpdateFn update = with_optimizer(optimizer, [](auto kind) -> UpdateFn {
          return &private_update<decltype(kind)::value, T>;
        });
        auto run = [&](const auto& loss_fn) {
          return private_sgd_steps(view, targets, model, loss_fn, rates, n_steps,
                                   std::uint64_t(first_step), o, sum.data(),
                                   [&](double* s, std::uint64_t step, double lr) {
                                     update(model, s, o, step, lr, opt);
                                   });
        };
        if (!is_pointwise(loss)) return run(SoftmaxLoss{});
        return with_loss(loss, loss_epsilon, run);
      },
      features);
}

py::array_t<std::uint64_t> philox4x64(const py::array& key, std::uint64_t c0, std::uint64_t c1,
                                      std::uint64_t c2, std::uint64_t c3) {
  const auto k = key_of(key);
  const PhiloxBlock b = philox4x64_10(PhiloxBlock{{c0, c1, c2, c3}}, k[0], k[1]);
  py::array_t<std::uint64_t> out(4);
  for (int i = 0; i < 4; ++i) out.mutable_at(i) = b.v[i];
  return out;
}

py::array_t<std::int64_t> sampled_rows(const py::array& key, std::uint64_t step, index_t n,
                                       double sampling_rate) {
  if (n < 1) value_error("n must be >= 1, got " + std::to_string(n));
  if (!(sampling_rate > 0 && sampling_rate <= 1))
    value_error("sampling_rate must be in (0, 1], got " + std::to_string(sampling_rate));
  const auto k = key_of(key);
  const std::uint64_t kk[2] = {k[0], k[1]};
  std::vector<std::int64_t> rows;
  poisson_rows(kk, step, n, sampling_rate, rows);
  return py::array_t<std::int64_t>(py::ssize_t(rows.size()), rows.data());
}

}  // namespace

void register_private(py::module_& m) {
  m.def("private_sgd_steps", &private_sgd_steps, py::arg("X"), py::arg("y").noconvert(),
        py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
        py::arg("lrs").noconvert(), py::kw_only(), py::arg("loss"),
        py::arg("loss_epsilon") = 0.1, py::arg("first_step") = 0, py::arg("sampling_rate"),
        py::arg("clip_norm"), py::arg("noise_multiplier"), py::arg("key").noconvert(),
        py::arg("secure") = false, py::arg("penalty") = PenaltyKind::l2,
        py::arg("alpha") = 1e-4, py::arg("l1_ratio") = 0.15, py::arg("fit_intercept") = true,
        py::arg("optimizer") = OptimizerKind::sgd, py::arg("optimizer_params") = py::dict(),
        py::arg("optimizer_state") = py::none(), py::arg("check_input") = true,
        "DP-SGD steps first_step .. first_step + len(lrs) - 1 in place on coef (K, d) and "
        "intercept (K,): Poisson-sampled rows (rate sampling_rate), each row's gradient clipped "
        "to clip_norm, N(0, (noise_multiplier*clip_norm)^2) added to each coordinate of the sum "
        "(Philox-4x64-10 under key), divided by sampling_rate*n, then the optimizer's step "
        "(fastgd/private_sgd.hpp). y: targets (K = 1, pointwise loss) or int64 class indices. "
        "Returns the number of rows sampled.");
  m.def("philox4x64", &philox4x64, py::arg("key").noconvert(), py::arg("c0"), py::arg("c1"),
        py::arg("c2"), py::arg("c3"),
        "The Philox-4x64-10 block at counter (c0, c1, c2, c3) under key (2 uint64): "
        "numpy.random.Philox's generator.");
  m.def("poisson_rows", &sampled_rows, py::arg("key").noconvert(), py::arg("step"),
        py::arg("n"), py::arg("sampling_rate"),
        "The rows the private kernel samples at `step`: each of range(n) with probability "
        "sampling_rate.");
}

}  // namespace fastgd::bindings
