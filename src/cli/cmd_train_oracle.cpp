// invsweep train-oracle --data FILE.csv --inputs a,b --outputs y ... --out oracle.h5
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <utility>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/data/csv.hpp"
#include "invsweep/oracle/ensemble.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/oracle/train.hpp"

namespace invsweep::cli {

struct TrainOracleOptions {
  std::string data, inputs, outputs, out;
  std::string hidden = "64,64";
  std::string activation = "tanh";
  std::string weight_decay = "auto";
  oracle::TrainOptions train;
  Index ensemble = 1;  ///< members (1: a single network)
  bool force = false;
  bool quiet = false;
};

namespace {

std::vector<std::string> parse_names(const std::string& text, const char* option) {
  std::vector<std::string> names = split_list(text);
  if (names.empty()) throw ConfigError(fmt::format("{}: expected a comma-separated list of column names", option));
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (n.empty()) throw ConfigError(fmt::format("{} '{}': empty name in the list", option, text));
    if (!seen.insert(n).second) throw ConfigError(fmt::format("{}: '{}' is listed twice", option, n));
  }
  return names;
}

std::vector<Index> parse_hidden(const std::string& text) {
  std::vector<Index> widths;
  for (const std::string& part : split_list(text)) {
    char* end = nullptr;
    const long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 1 || v > 100000)
      throw ConfigError(
          fmt::format("--hidden '{}': '{}' is not a layer width (expected positive integers, "
                      "for example 64,64)",
                      text, part));
    widths.push_back(v);
  }
  if (widths.empty()) throw ConfigError("--hidden: expected at least one layer width, for example 64,64");
  return widths;
}

void print_progress(const oracle::EpochInfo& e, bool tty, double& last_print) {
  const bool last = e.epoch == e.max_epochs;
  if (!last && e.seconds - last_print < (tty ? 0.2 : 5.0)) return;
  last_print = e.seconds;
  const std::string val =
      std::isnan(e.val_loss) ? std::string() : fmt::format("  val {:.3e}  best {:.3e}", e.val_loss, e.best_val_loss);
  const std::string line = fmt::format("epoch {:>5}/{}  train {:.3e}{}  lr {:.1e}  {:.1f}s", e.epoch, e.max_epochs,
                                       e.train_loss, val, e.lr, e.seconds);
  if (tty)
    fmt::print(stderr, "\r{}\033[K", line);
  else
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

/// The headline is the test figure: rows that neither training nor early stopping saw.
void print_summary(const oracle::TrainResult& r, const std::vector<std::string>& outputs, bool automatic_decay) {
  const oracle::Metrics& m = r.oracle.metrics;
  fmt::print("trained in {:.1f} s, {} epochs (best at {}), {} training / {} validation / {} test rows\n", r.seconds,
             r.epochs_run, r.best_epoch, m.n_train, m.n_val, m.n_test);
  if (r.weight_decay > 0)
    fmt::print("weight decay {:g}{}\n", r.weight_decay,
               automatic_decay ? " (automatic: fewer training values than network parameters)" : "");
  if (m.n_val == 0)
    fmt::print("no validation rows (--val-fraction 0): no early stopping, trained all {} epochs, last weights kept\n",
               r.epochs_run);
  if (m.n_test == 0)
    fmt::print("no test rows (--test-fraction 0): no figure below comes from rows the training did not use\n");
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    std::string line = fmt::format("  {:<12}", outputs[i]);
    if (!m.test_r2.empty()) line += fmt::format(" test RMSE {:.6g}  R² {:.7f}", m.test_rmse[i], m.test_r2[i]);
    if (!m.cv_r2_mean.empty())
      line += fmt::format("  ({}-fold CV R² {:.4f} ± {:.4f})", m.cv_folds, m.cv_r2_mean[i], m.cv_r2_sd[i]);
    line += m.val_r2.empty() ? " " : fmt::format("  validation RMSE {:.6g}  R² {:.7f}", m.val_rmse[i], m.val_r2[i]);
    line += fmt::format("  training RMSE {:.6g}", m.train_rmse[i]);
    fmt::print("{}\n", line);
  }
}

/// --ensemble K > 1: K members (seeds seed … seed + K − 1, each its own split), one file.
int train_ensemble(const TrainOracleOptions& o, const MatrixD& x, const MatrixD& y,
                   const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                   const oracle::TrainOptions& topt, bool tty) {
  double last_print = -1e9;
  Index current = -1;
  std::function<void(Index, const oracle::EpochInfo&)> progress;
  if (!o.quiet)
    progress = [&](Index k, const oracle::EpochInfo& e) {
      if (k != current) {
        if (tty && current >= 0) fmt::print(stderr, "\n");
        fmt::print(stderr, "member {}/{} (seed {})\n", k + 1, o.ensemble, topt.seed + static_cast<std::uint64_t>(k));
        current = k;
        last_print = -1e9;
      }
      print_progress(e, tty, last_print);
    };
  const oracle::EnsembleTrainResult r =
      oracle::train_ensemble(x, y, inputs, outputs, topt, o.ensemble, o.data, progress);
  if (!o.quiet && tty) fmt::print(stderr, "\n");
  create_parent_dirs(o.out, "--out");
  oracle::save_oracle(o.out, r.oracle);

  const oracle::Metrics& m = r.oracle.metrics;
  const oracle::Metrics& m0 = r.members.front().oracle.metrics;
  fmt::print(
      "trained an ensemble of {} members in {:.1f} s, {} training / {} validation rows each (own splits); "
      "{} rows held out by some member; {} test rows no member saw\n",
      o.ensemble, r.seconds, m0.n_train, m0.n_val, m.n_val, m.n_test);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (m.n_test > 0)
      fmt::print("  {:<12} ensemble test RMSE {:.6g}  R² {:.7f}\n", outputs[i], m.test_rmse[i], m.test_r2[i]);
    double r2_sq = 0;
    std::vector<std::string> each;
    for (const oracle::TrainResult& t : r.members) {
      const double d = t.oracle.metrics.val_r2[i] - r.member_val_r2[i];
      r2_sq += d * d;
      each.push_back(fmt::format("{:.4f}", t.oracle.metrics.val_r2[i]));
    }
    const double r2_sd = std::sqrt(r2_sq / static_cast<double>(r.members.size()));
    fmt::print("  {:<12} ensemble out-of-bag RMSE {:.6g}  R² {:.7f}\n", outputs[i], m.val_rmse[i], m.val_r2[i]);
    fmt::print("  {:<12} members' validation RMSE {:.6g}  R² {:.4f} ± {:.4f} (each {})\n", "", r.member_val_rmse[i],
               r.member_val_r2[i], r2_sd, fmt::join(each, ", "));
    fmt::print("  {:<12} ensemble RMSE on all rows {:.6g}  members' spread (std over members) {:.6g} on average\n", "",
               m.train_rmse[i], r.data_spread[i]);
  }
  fmt::print("wrote {}\n", o.out);
  return 0;
}

}  // namespace

int run_train_oracle(const TrainOracleOptions& o) {
  // Validate every argument before reading or writing anything.
  const std::vector<std::string> inputs = parse_names(o.inputs, "--inputs");
  const std::vector<std::string> outputs = parse_names(o.outputs, "--outputs");
  for (const std::string& n : outputs)
    for (const std::string& m : inputs)
      if (n == m) throw ConfigError(fmt::format("'{}' is given both in --inputs and in --outputs", n));
  oracle::TrainOptions topt = o.train;
  topt.hidden = parse_hidden(o.hidden);
  const std::optional<nn::Activation> act = nn::parse_activation(o.activation);
  if (!act) {
    std::vector<std::string_view> names(nn::activation_names().begin(), nn::activation_names().end());
    throw ConfigError(fmt::format("--activation '{}': unknown activation{}; expected one of: {}", o.activation,
                                  did_you_mean(o.activation, names), fmt::join(names, ", ")));
  }
  topt.activation = *act;
  if (topt.epochs < 1) throw ConfigError(fmt::format("--epochs {}: expected a positive number", topt.epochs));
  if (topt.batch < 1) throw ConfigError(fmt::format("--batch {}: expected a positive number", topt.batch));
  if (!(topt.lr > 0) || !std::isfinite(topt.lr))
    throw ConfigError(fmt::format("--lr {}: expected a positive learning rate", topt.lr));
  for (const auto& [value, flag] :
       {std::pair{topt.test_fraction, "--test-fraction"}, std::pair{topt.val_fraction, "--val-fraction"}})
    if (!(value == 0 || (value >= 0.01 && value <= 0.5)))
      throw ConfigError(fmt::format("{} {}: expected 0 or a value in [0.01, 0.5]", flag, value));
  if (o.weight_decay != "auto") {
    char* end = nullptr;
    const double wd = std::strtod(o.weight_decay.c_str(), &end);
    if (o.weight_decay.empty() || *end != '\0' || !(wd >= 0) || !std::isfinite(wd))
      throw ConfigError(fmt::format("--weight-decay {}: expected a number ≥ 0 or auto", o.weight_decay));
    topt.weight_decay = wd;
  }
  if (topt.cv_folds != 0 && topt.cv_folds < 2)
    throw ConfigError(fmt::format("--cv {}: expected at least 2 folds", topt.cv_folds));
  if (o.ensemble < 1 || o.ensemble > 1000)
    throw ConfigError(fmt::format("--ensemble {}: expected a whole number of members in [1, 1000]", o.ensemble));
  if (o.ensemble > 1 && topt.cv_folds != 0)
    throw ConfigError(
        fmt::format("--cv {} with --ensemble {}: cross-validation estimates a single network; the "
                    "ensemble is scored on its test rows and out of bag",
                    topt.cv_folds, o.ensemble));
  check_output_path(o.out, o.force, "--out");
  check_not_an_input(o.out, "--out", {{o.data, "--data file"}});

  const data::Table table = data::read_csv(o.data);
  const MatrixD x = table.select(inputs);
  const MatrixD y = table.select(outputs);
  if (!o.quiet)
    fmt::print("training oracle {} -> {} on {} rows of {} (hidden {}, {}, {} precision)\n", fmt::join(inputs, ","),
               fmt::join(outputs, ","), table.rows(), o.data, o.hidden, o.activation,
               topt.float64 ? "float64" : "float32");
  if (!o.quiet && topt.cv_folds > 0)
    fmt::print("then {}-fold cross-validation: {} more models on the non-test rows\n", topt.cv_folds, topt.cv_folds);
  std::fflush(stdout);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  double last_print = -1e9;
  oracle::ProgressFn progress;
  if (!o.quiet) progress = [&](const oracle::EpochInfo& e) { print_progress(e, tty, last_print); };
  if (o.ensemble > 1) return train_ensemble(o, x, y, inputs, outputs, topt, tty);
  const oracle::TrainResult r = oracle::train_oracle(x, y, inputs, outputs, topt, o.data, progress);
  if (!o.quiet && tty) fmt::print(stderr, "\n");
  create_parent_dirs(o.out, "--out");
  oracle::save_oracle(o.out, r.oracle);

  print_summary(r, outputs, !topt.weight_decay.has_value());
  for (const std::string& w : oracle::training_warnings(r.oracle))
    fmt::print(stderr, "invsweep: warning: {}\n", w);
  fmt::print("wrote {}\n", o.out);
  return 0;
}

void setup_train_oracle(CLI::App& app) {
  auto opt = std::make_shared<TrainOracleOptions>();
  CLI::App* sub = app.add_subcommand("train-oracle", "Train an oracle (forward model) from a CSV file");
  sub->add_option("--data", opt->data, "CSV file with a header row")->required();
  sub->add_option("--inputs", opt->inputs, "Input columns, comma-separated")->required();
  sub->add_option("--outputs", opt->outputs, "Output columns, comma-separated")->required();
  sub->add_option("--out,-o", opt->out, "Oracle file to write (.h5)")->required();
  sub->add_option("--hidden", opt->hidden, "Hidden layer widths")->capture_default_str();
  sub->add_option("--activation", opt->activation,
                  "Hidden activation: identity, relu, tanh, sigmoid, softplus, silu, gelu")
      ->capture_default_str();
  sub->add_option("--epochs", opt->train.epochs, "Maximum epochs")->capture_default_str();
  sub->add_option("--batch", opt->train.batch, "Mini-batch size")->capture_default_str();
  sub->add_option("--lr", opt->train.lr, "Initial learning rate (Adam)")->capture_default_str();
  sub->add_option("--seed", opt->train.seed, "Seed of the split, initialisation and shuffling")->capture_default_str();
  sub->add_option("--test-fraction", opt->train.test_fraction,
                  "Share of rows held out for the test figures only (0: none)")
      ->capture_default_str();
  sub->add_option("--val-fraction", opt->train.val_fraction,
                  "Share of rows held out for early stopping (0: none, train --epochs epochs)")
      ->capture_default_str();
  sub->add_option("--weight-decay", opt->weight_decay,
                  "Decoupled weight decay λ (AdamW): weights shrink by lr·λ per step; auto: 1 when the training "
                  "values are fewer than the network's parameters, else 0")
      ->capture_default_str();
  sub->add_option("--cv", opt->train.cv_folds, "K-fold cross-validation of the non-test rows (K ≥ 2)");
  sub->add_option("--patience", opt->train.patience, "Epochs without improvement before stopping")
      ->capture_default_str();
  sub->add_option("--lr-patience", opt->train.lr_patience,
                  "Epochs without improvement before the learning rate is halved")
      ->capture_default_str();
  sub->add_option("--min-lr", opt->train.min_lr, "Training stops once the learning rate falls below this")
      ->capture_default_str();
  sub->add_option("--ensemble", opt->ensemble,
                  "Members of an ensemble (seeds seed … seed+K−1, each its own validation split; "
                  "the file's network is their mean)")
      ->capture_default_str();
  sub->add_flag("--float64", opt->train.float64, "Train in double precision (default float32)");
  sub->add_flag("--force", opt->force, "Overwrite an existing output file");
  sub->add_flag("--quiet,-q", opt->quiet, "No progress output");
  sub->callback([opt] { exit_code() = run_train_oracle(*opt); });
}

}  // namespace invsweep::cli
