#pragma once
// Solver `generator`: a small network G maps latent noise z to candidate vectors; G is trained
// through the frozen oracle so that the batch G(z) meets the objective.
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/nn/activation.hpp"

namespace invsweep::solvers {

struct GeneratorSettings {
  Index latent = 8;
  std::vector<Index> hidden{64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int steps = 2000;
  double lr = 1e-3;
  inverse::LatentDist latent_dist = inverse::LatentDist::normal;
  bool fresh_latents = false;  ///< draw new latents every step (else one fixed batch)
  inverse::Schedule schedule = inverse::Schedule::cosine;
  double final_lr_fraction = 0.01;  ///< cosine: the rate decays to lr·this
  int patience = 0;                 ///< early stopping: steps without improvement (0 = off)
  double tolerance = 0.0;           ///< stop once the loss is at or below this

  static const config::SettingsTable<GeneratorSettings>& table();
};

/// The activation names as a config::Names list (for settings tables).
const config::Names& activation_choices();

}  // namespace invsweep::solvers
