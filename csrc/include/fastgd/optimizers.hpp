// Optimizers fused into the coefficient update: PyTorch's update formulas and defaults.
//
// Each coordinate j of a step gets the minibatch gradient g_j (the data part), then:
//   g ← g + l2·w                          (the L2 part of the penalty, as torch's weight_decay)
//   w ← w − lr·direction(g, state_j)       (sgd, momentum, nesterov, adagrad, rmsprop, adam)
//   w ← soft_threshold(w, lr·l1)           (the L1 proximal step, as for plain SGD)
// AdamW decouples its decay instead: w ← w·(1 − lr·weight_decay) before the Adam step (and the
// penalty's l2 is still added to g). With the `sgd` optimizer this is exactly update_coordinate.
//
// The state arrays (one or two per coefficient, plus the intercept's) are owned by Python and
// passed in, so they persist across epochs and partial_fit calls. The step count t (1-based, as
// torch counts) gives Adam its bias corrections and Adagrad its lr decay; the per-step constants
// are computed once per step (StepConstants), not per coordinate.
#pragma once

#include <cmath>

#include "config.hpp"
#include "penalties.hpp"

namespace fastgd {

enum class OptimizerKind : int { sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw };

// Hyper-parameters, torch's names; each optimizer reads the ones it has.
struct OptimizerParams {
  double momentum = 0.9;      // momentum, nesterov
  double dampening = 0.0;     // momentum
  double alpha = 0.99;        // rmsprop smoothing
  double beta1 = 0.9;         // adam, adamw
  double beta2 = 0.999;       // adam, adamw
  double eps = 1e-8;          // adagrad (torch: 1e-10), rmsprop, adam, adamw
  double lr_decay = 0.0;      // adagrad
  double weight_decay = 0.0;  // adamw (decoupled)
};

// How many state values each coefficient carries.
constexpr int state_arrays(OptimizerKind kind) noexcept {
  switch (kind) {
    case OptimizerKind::sgd: return 0;
    case OptimizerKind::momentum:
    case OptimizerKind::nesterov:
    case OptimizerKind::adagrad:
    case OptimizerKind::rmsprop: return 1;
    case OptimizerKind::adam:
    case OptimizerKind::adamw: return 2;
  }
  return 0;
}

// What a step needs beyond the gradient: its rate and the constants derived from t.
struct StepConstants {
  double lr;         // the step's learning rate (Adagrad: already decayed)
  double bias1;      // adam: 1 − β1^t
  double sqrt_bias2; // adam: sqrt(1 − β2^t)
  bool first;        // t == 1: momentum buffers start at g (torch)
};

inline StepConstants step_constants(OptimizerKind kind, const OptimizerParams& p, double lr,
                                    double t) noexcept {
  StepConstants c{lr, 1.0, 1.0, t == 1.0};
  if (kind == OptimizerKind::adagrad) c.lr = lr / (1.0 + (t - 1.0) * p.lr_decay);
  if (kind == OptimizerKind::adam || kind == OptimizerKind::adamw) {
    c.bias1 = 1.0 - std::pow(p.beta1, t);
    c.sqrt_bias2 = std::sqrt(1.0 - std::pow(p.beta2, t));
  }
  return c;
}

// One coordinate: returns the new w and updates its state s0 (and s1). `l2` and `l1` are the
// penalty's coefficients (zero for the intercept, which is never penalized).
template <OptimizerKind K, class S>
FASTGD_HD double optimizer_step(double w, double g, double l2, double l1,
                                const OptimizerParams& p, const StepConstants& c, S& s0,
                                S& s1) noexcept {
  if constexpr (K == OptimizerKind::adamw) w *= 1.0 - c.lr * p.weight_decay;
  // Plain SGD clamps its decay as update_coordinate does; the others add l2·w to g as torch's
  // weight_decay does, with no clamp.
  if constexpr (K == OptimizerKind::sgd)
    if (decay_clamped(c.lr, l2)) w = 0.0;
  g += l2 * w;
  double dir = g;
  if constexpr (K == OptimizerKind::momentum || K == OptimizerKind::nesterov) {
    const double buf = c.first ? g : p.momentum * double(s0) + (1.0 - p.dampening) * g;
    s0 = S(buf);
    dir = K == OptimizerKind::nesterov ? g + p.momentum * buf : buf;
  } else if constexpr (K == OptimizerKind::adagrad) {
    const double sum = double(s0) + g * g;
    s0 = S(sum);
    dir = g / (std::sqrt(sum) + p.eps);
  } else if constexpr (K == OptimizerKind::rmsprop) {
    const double v = p.alpha * double(s0) + (1.0 - p.alpha) * g * g;
    s0 = S(v);
    dir = g / (std::sqrt(v) + p.eps);
  } else if constexpr (K == OptimizerKind::adam || K == OptimizerKind::adamw) {
    const double m = p.beta1 * double(s0) + (1.0 - p.beta1) * g;
    const double v = p.beta2 * double(s1) + (1.0 - p.beta2) * g * g;
    s0 = S(m);
    s1 = S(v);
    dir = (m / c.bias1) / (std::sqrt(v) / c.sqrt_bias2 + p.eps);
  }
  (void)s1;
  w -= c.lr * dir;
  return l1 > 0.0 ? soft_threshold(w, c.lr * l1) : w;
}

// optimizer_step for a kind known only at run time: for the intercept, one value per step.
template <class S>
inline double optimizer_step(OptimizerKind kind, double w, double g, const OptimizerParams& p,
                             const StepConstants& c, S& s0, S& s1) noexcept {
  switch (kind) {
    case OptimizerKind::sgd: return optimizer_step<OptimizerKind::sgd>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::momentum:
      return optimizer_step<OptimizerKind::momentum>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::nesterov:
      return optimizer_step<OptimizerKind::nesterov>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::adagrad:
      return optimizer_step<OptimizerKind::adagrad>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::rmsprop:
      return optimizer_step<OptimizerKind::rmsprop>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::adam: return optimizer_step<OptimizerKind::adam>(w, g, 0, 0, p, c, s0, s1);
    case OptimizerKind::adamw:
      // AdamW's decoupled decay is for weights; the intercept is never decayed.
      return optimizer_step<OptimizerKind::adam>(w, g, 0, 0, p, c, s0, s1);
  }
  return w;
}

// The optimizer of an epoch: its kind, hyper-parameters and state, owned by the caller.
template <class T>
struct OptimizerArgs {
  OptimizerKind kind = OptimizerKind::sgd;
  OptimizerParams params{};
  T* coef_state = nullptr;       // state_arrays(kind) arrays of d values, one after the other
  T* intercept_state = nullptr;  // state_arrays(kind) values
  std::int64_t* step = nullptr;  // steps taken before this epoch (torch's t − 1); advanced
};

// Averaged SGD, scikit-learn's `average`: after each step t (counted from 1 over the whole fit)
// with t >= start, avg ← avg + (w − avg) / (t − start + 1), for the coefficients and intercept.
template <class T>
struct AverageArgs {
  T* coef = nullptr;  // nullptr: no averaging
  T* intercept = nullptr;
  std::int64_t* step = nullptr;  // steps taken before this epoch; advanced
  index_t start = 1;
};

namespace detail {

// avg ← avg + (w − avg) / k over d values: the running mean of averaged SGD, after its k-th step.
template <class T>
inline void average_into(T* FASTGD_RESTRICT avg, const T* FASTGD_RESTRICT w, index_t d,
                         acc_t k) noexcept {
#pragma omp simd
  for (index_t j = 0; j < d; ++j) avg[j] = T(acc_t(avg[j]) + (acc_t(w[j]) - acc_t(avg[j])) / k);
}

}  // namespace detail

}  // namespace fastgd
