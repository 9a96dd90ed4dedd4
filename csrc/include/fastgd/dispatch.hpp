// The one place where runtime options become template arguments.
//
// Only the loss is a template parameter of the drivers (with the dtype, chosen by the binding);
// the penalty is a runtime pair (penalties.hpp). So the kernels instantiate 2 dtypes × 8 losses.
#pragma once

#include "losses.hpp"

namespace fastgd {

// Calls f(loss) with the loss struct for `kind` and returns what f returns.
template <class F>
decltype(auto) with_loss(LossKind kind, double epsilon, F&& f) {
  switch (kind) {
    case LossKind::squared_error: return f(losses::SquaredError{epsilon});
    case LossKind::huber: return f(losses::Huber{epsilon});
    case LossKind::epsilon_insensitive: return f(losses::EpsilonInsensitive{epsilon});
    case LossKind::squared_epsilon_insensitive:
      return f(losses::SquaredEpsilonInsensitive{epsilon});
    case LossKind::log_loss: return f(losses::LogLoss{epsilon});
    case LossKind::hinge: return f(losses::Hinge{epsilon});
    case LossKind::squared_hinge: return f(losses::SquaredHinge{epsilon});
    case LossKind::modified_huber: return f(losses::ModifiedHuber{epsilon});
    case LossKind::multinomial: break;  // not pointwise: the callers branch on is_pointwise first
  }
  return f(losses::SquaredError{epsilon});  // unreachable
}

}  // namespace fastgd
