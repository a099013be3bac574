#pragma once
// Solver `adjoint`: the input vectors themselves are the parameters — many random starts,
// gradient descent through the frozen oracle (backpropagation to the inputs).
#include "invsweep/config/settings.hpp"
#include "invsweep/inverse/spec.hpp"

namespace invsweep::solvers {

struct AdjointSettings {
  int steps = 1000;
  double lr = 1e-2;
  inverse::Schedule schedule = inverse::Schedule::cosine;
  double final_lr_fraction = 0.01;
  int patience = 0;
  double tolerance = 0.0;

  static const config::SettingsTable<AdjointSettings>& table();
};

}  // namespace invsweep::solvers
