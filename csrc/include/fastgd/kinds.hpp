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
};

inline constexpr LossInfo kLossTable[] = {
    {LossKind::squared_error, "squared_error", TargetKind::real, false},
    {LossKind::huber, "huber", TargetKind::real, true},
    {LossKind::epsilon_insensitive, "epsilon_insensitive", TargetKind::real, true},
    {LossKind::squared_epsilon_insensitive, "squared_epsilon_insensitive", TargetKind::real, true},
    {LossKind::log_loss, "log_loss", TargetKind::labels, false},
    {LossKind::hinge, "hinge", TargetKind::labels, false},
    {LossKind::squared_hinge, "squared_hinge", TargetKind::labels, false},
    {LossKind::modified_huber, "modified_huber", TargetKind::labels, false},
    {LossKind::multinomial, "multinomial", TargetKind::classes, false},
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
