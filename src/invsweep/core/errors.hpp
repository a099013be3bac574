#pragma once
// The two kinds of failure.
//
// Bad user input (a sweep file, a CSV file, an oracle file, a command-line argument) throws a
// `UserError` subclass that names the file, key or line and says what was expected; the CLI
// turns it into one message and exit code 2. Nothing is written when one is thrown before
// output starts. A task that diverges or fails is *data* (a status in the results), not an
// exception.
#include <stdexcept>
#include <string>

namespace invsweep {

/// Base of every error caused by what the user gave us. Exit code 2.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration value (command-line option, sweep-file key) is invalid.
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

/// A data file (CSV) is malformed: the message carries file, line and column.
class DataError : public UserError {
 public:
  using UserError::UserError;
};

/// A file cannot be opened, read or written, or is not what it should be (an oracle file
/// with a wrong format, a truncated HDF5 file). The message carries the path.
class IoError : public UserError {
 public:
  using UserError::UserError;
};

}  // namespace invsweep
