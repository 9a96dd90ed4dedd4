// The dense drivers' public entry points: the models, loss_and_grad and sgd_epoch (dense/).
#pragma once

#include "dense/epoch.hpp"
#include "dense/loss_and_grad.hpp"
#include "dense/models.hpp"
