// The CSR drivers' public entry points: loss_and_grad_csr and sgd_epoch_csr (sparse/).
#pragma once

#include "sparse/epoch.hpp"
#include "sparse/loss_and_grad.hpp"
