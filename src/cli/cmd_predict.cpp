// invsweep predict --oracle FILE.h5 --data FILE.csv [-o OUT.csv]
#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/data/csv.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/oracle/train.hpp"

namespace invsweep::cli {

struct PredictOptions {
  std::string oracle, data, out;
  bool force = false;
  bool out_given = false;  // --out '' is an error, not "no output"
};

int run_predict(const PredictOptions& o) {
  if (o.out_given) {
    check_output_path(o.out, o.force, "--out");
    check_not_an_input(o.out, "--out", {{o.data, "--data file"}, {o.oracle, "--oracle file"}});
  }
  const oracle::Oracle orc = oracle::load_oracle(o.oracle);
  const data::Table table = data::read_csv(o.data);
  const MatrixD x = table.select(orc.input_names);
  const MatrixD y = orc.predict(x);
  // When the data holds the outputs too, report the fit on it.
  bool has_truth = true;
  for (const std::string& n : orc.output_names)
    if (std::find(table.columns.begin(), table.columns.end(), n) == table.columns.end()) has_truth = false;
  if (has_truth) {
    std::vector<double> rmse, r2;
    oracle::regression_metrics(y, table.select(orc.output_names), rmse, r2);
    fmt::print("{} rows of {}\n", table.rows(), o.data);
    for (std::size_t i = 0; i < rmse.size(); ++i)
      fmt::print("  {:<12} RMSE {:.6g}  R² {:.7f}\n", orc.output_names[i], rmse[i], r2[i]);
  }
  if (o.out_given) {
    std::vector<std::string> cols = orc.input_names;
    for (const std::string& n : orc.output_names)
      cols.push_back(n + (has_truth ? "_pred" : ""));
    MatrixD rows(x.cols(), x.rows() + y.rows());
    rows << x.transpose(), y.transpose();
    create_parent_dirs(o.out, "--out");
    data::write_csv(o.out, cols, rows);
    fmt::print("wrote {} predictions to {}\n", rows.rows(), o.out);
  }
  return 0;
}

void setup_predict(CLI::App& app) {
  auto opt = std::make_shared<PredictOptions>();
  CLI::App* sub =
      app.add_subcommand("predict", "Evaluate an oracle on a CSV file (and its fit, if the outputs are there)");
  sub->add_option("--oracle", opt->oracle, "Oracle file (.h5)")->required();
  sub->add_option("--data", opt->data, "CSV file holding the oracle's input columns")->required();
  CLI::Option* out = sub->add_option("-o,--out", opt->out, "CSV file to write inputs and predictions to");
  sub->add_flag("--force", opt->force, "Overwrite an existing output file");
  sub->callback([opt, out] {
    opt->out_given = out->count() > 0;
    exit_code() = run_predict(*opt);
  });
}

}  // namespace invsweep::cli
