// invsweep settings: every key of the sweep file (type, default, valid range, meaning) as
// Markdown, from the settings tables themselves (docs/SETTINGS.md is this output).
#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::cli {

struct SettingsOptions {};

int run_settings(const SettingsOptions& /*o*/) {
  fmt::print("{}", sweep::settings_markdown());
  return 0;
}

void setup_settings(CLI::App& app) {
  auto opt = std::make_shared<SettingsOptions>();
  CLI::App* sub = app.add_subcommand("settings",
                                     "Print every key of the sweep file (type, default, valid range, "
                                     "meaning) as Markdown");
  sub->callback([opt] { exit_code() = run_settings(*opt); });
}

}  // namespace invsweep::cli
