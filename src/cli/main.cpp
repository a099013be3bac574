#include "commands.hpp"

int main(int argc, char** argv) {
  return invsweep::cli::run_cli(argc, argv);
}
