// The table of loss kinds: every layer (the bindings, the Python estimators, the CUDA module)
// reads what a loss is from here, through the exported enums, instead of keeping its own list.
#pragma once

namespace fastgd {

// The runtime names of the losses; the Python layer reads them from the exported enum `Loss`.
enum class LossKind : int {
  squared_error,
  huber,
  epsilon_insensitive,
  squared_epsilon_insensitive,
  log_loss,
  hinge,
  squared_hinge,
  modified_huber,
  multinomial,  // softmax cross-entropy over K outputs: not a pointwise loss
};

// What a loss takes as y.
enum class TargetKind : int {
  real,     // any finite real number (regression)
  labels,   // -1 or +1 (binary classification)
  classes,  // class indices in [0, K), or rows of K class probabilities
};

// Rows of class probabilities (TargetKind::classes) must sum to 1 within this: float32 rows of
// many classes round.
inline constexpr double kProbabilitySumTolerance = 1e-4;

struct LossInfo {
  LossKind kind;
  const char* name;
  TargetKind targets;
  bool uses_epsilon;  // huber and the epsilon-insensitive losses
  // A bound on the loss's curvature, sup |L''(p)| (the Lipschitz constant of L'), for the
  // smoothness that learning_rate="auto" takes its step from; the softmax's is the bound ½ on
  // the Hessian diag(π) − ππᵀ of its log-sum-exp. The piecewise linear losses (hinge,
  // epsilon_insensitive) have no such bound: they take 1, the curvature of their Huber
  // smoothing of unit width, with which the step keeps a unit margin's move per step bounded.
  double curvature;
};

inline constexpr LossInfo kLossTable[] = {
    {LossKind::squared_error, "squared_error", TargetKind::real, false, 1.0},
    {LossKind::huber, "huber", TargetKind::real, true, 1.0},
    {LossKind::epsilon_insensitive, "epsilon_insensitive", TargetKind::real, true, 1.0},
    {LossKind::squared_epsilon_insensitive, "squared_epsilon_insensitive", TargetKind::real, true,
     2.0},
    {LossKind::log_loss, "log_loss", TargetKind::labels, false, 0.25},
    {LossKind::hinge, "hinge", TargetKind::labels, false, 1.0},
    {LossKind::squared_hinge, "squared_hinge", TargetKind::labels, false, 2.0},
    {LossKind::modified_huber, "modified_huber", TargetKind::labels, false, 2.0},
    {LossKind::multinomial, "multinomial", TargetKind::classes, false, 0.5},
};

constexpr const LossInfo& loss_info(LossKind kind) noexcept {
  return kLossTable[static_cast<int>(kind)];
}

constexpr TargetKind targets_of(LossKind kind) noexcept { return loss_info(kind).targets; }

// Whether a loss expects labels (±1) or classes rather than real targets.
constexpr bool is_classification(LossKind kind) noexcept {
  return targets_of(kind) != TargetKind::real;
}

// Whether the loss is a function L(p, y) of one prediction (every loss but the softmax).
constexpr bool is_pointwise(LossKind kind) noexcept {
  return targets_of(kind) != TargetKind::classes;
}

// The table is indexed by the enum's value: its rows must stay in the enum's order.
constexpr bool table_in_enum_order() noexcept {
  for (int k = 0; k < int(sizeof(kLossTable) / sizeof(kLossTable[0])); ++k)
    if (static_cast<int>(kLossTable[k].kind) != k) return false;
  return true;
}
static_assert(table_in_enum_order(), "kLossTable must list the losses in LossKind's order");

}  // namespace fastgd
