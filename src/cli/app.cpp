#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/git_commit.hpp"
#include "invsweep/version.hpp"

namespace invsweep::cli {

int& exit_code() {
  static int code = 0;
  return code;
}

namespace {

/// A misspelt long option of a subcommand gets a "did you mean" (CLI11 only says it was not
/// expected).
void check_long_options(CLI::App& app, int argc, char** argv) {
  CLI::App* sub = nullptr;
  try {
    sub = app.get_subcommand(argv[1]);
  } catch (const CLI::OptionNotFound&) {
    return;
  }
  std::vector<std::string> known = {"--help"};
  for (const CLI::Option* o : sub->get_options())
    for (const std::string& n : o->get_lnames())
      known.push_back("--" + n);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw ConfigError(fmt::format("{}: unknown option '{}'{}; see `invsweep {} --help`", argv[1], name,
                                    did_you_mean(name, known), argv[1]));
  }
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "invsweep — inverts trained neural networks: many input vectors that make a "
      "frozen forward model (the oracle) hit a target, over sweeps of settings."};
  app.set_version_flag("--version", fmt::format("invsweep {} (commit {}, {} build, flags: {})", kVersion, kGitCommit,
                                                kBuildType, kBuildFlags));
  app.require_subcommand(1);
  setup_dataset(app);
  setup_train_oracle(app);
  setup_predict(app);
  setup_run(app);
  setup_check(app);
  setup_status(app);
  setup_settings(app);
  try {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      names.push_back(sub->get_name());
    if (argc > 1 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      throw ConfigError(
          fmt::format("unknown command '{}'{}; commands: {}", argv[1], did_you_mean(argv[1], names), join(names)));
    }
    if (argc > 1) check_long_options(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "invsweep: error: {}\n", e.what());
    fmt::print(stderr, "Run with --help for usage.\n");
    return 2;
  } catch (const UserError& e) {
    fmt::print(stderr, "invsweep: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "invsweep: internal error: {}\n", e.what());
    return 3;
  }
  return exit_code();
}

}  // namespace invsweep::cli
