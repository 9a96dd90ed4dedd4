// The CSR drivers' public entry points: loss_and_grad_csr and sgd_epoch_csr for plain SGD with a
// pointwise loss, sgd_epoch_csr_general and softmax_loss_and_grad_csr for the rest (sparse/).
#pragma once

#include "sparse/epoch.hpp"
#include "sparse/general_epoch.hpp"
#include "sparse/loss_and_grad.hpp"
#include "sparse/softmax_objective.hpp"
