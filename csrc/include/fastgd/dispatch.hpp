// The one place where runtime options become template arguments: the data's value and index
// types, the loss and the optimizer. Each with_* calls f with a value of the chosen type.
//
// The penalty is a runtime pair (penalties.hpp), not a template parameter, so the drivers
// instantiate a sum (2 dtypes × 8 pointwise losses, and the softmax) rather than a product.
#pragma once

#include <cstdint>
#include <type_traits>

#include "losses.hpp"
#include "optimizers.hpp"

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

// The floating type of the data (X, y, coefficients): f(float{}) or f(double{}).
enum class ValueType { float32, float64 };

template <class F>
decltype(auto) with_value_type(ValueType type, F&& f) {
  return type == ValueType::float32 ? f(float{}) : f(double{});
}

// The index type of CSR indices and indptr: f(std::int32_t{}) or f(std::int64_t{}).
enum class IndexType { int32, int64 };

template <class F>
decltype(auto) with_index_type(IndexType type, F&& f) {
  return type == IndexType::int32 ? f(std::int32_t{}) : f(std::int64_t{});
}

// Calls f(std::integral_constant<OptimizerKind, kind>{}).
template <class F>
decltype(auto) with_optimizer(OptimizerKind kind, F&& f) {
  using K = OptimizerKind;
  switch (kind) {
    case K::momentum: return f(std::integral_constant<K, K::momentum>{});
    case K::nesterov: return f(std::integral_constant<K, K::nesterov>{});
    case K::adagrad: return f(std::integral_constant<K, K::adagrad>{});
    case K::rmsprop: return f(std::integral_constant<K, K::rmsprop>{});
    case K::adam: return f(std::integral_constant<K, K::adam>{});
    case K::adamw: return f(std::integral_constant<K, K::adamw>{});
    case K::sgd: break;
  }
  return f(std::integral_constant<K, K::sgd>{});
}

}  // namespace fastgd
