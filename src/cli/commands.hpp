#pragma once
// One file pair per subcommand: an options struct, `setup_x` binding it to CLI11, and
// `run_x` doing the work. `run_x` returns the process exit code; user errors are thrown as
// invsweep::UserError and become exit code 2 in `run_cli`.
#include <CLI/CLI.hpp>

namespace invsweep::cli {

void setup_dataset(CLI::App& app);
void setup_train_oracle(CLI::App& app);
void setup_predict(CLI::App& app);
void setup_run(CLI::App& app);
void setup_check(CLI::App& app);
void setup_status(CLI::App& app);
void setup_settings(CLI::App& app);

/// Parses the command line, runs the chosen subcommand, maps errors to exit codes
/// (0 success, 1 some tasks failed, 2 bad input).
int run_cli(int argc, char** argv);

/// The exit code chosen by the subcommand that ran.
int& exit_code();

}  // namespace invsweep::cli
