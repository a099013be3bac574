#pragma once
// A thin, checked, owning wrapper over the HDF5 C API.
//
// Every HDF5 call goes through `check()`, which throws `h5::Error` (an `IoError`) carrying
// the context given by the caller and HDF5's own error-stack text. Identifiers are owned by
// `Handle` (move-only RAII); business code never sees a bare `hid_t`.
//
// Parallel use: with a file opened through `FileAccess::mpio`, creating or opening files,
// groups, datasets and attributes is COLLECTIVE — every rank calls it, in the same order.
// Row writes (`write_rows`) are independent.
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "invsweep/core/errors.hpp"

namespace invsweep::h5 {

class Error : public IoError {
 public:
  using IoError::IoError;
};

/// Throws h5::Error when `status < 0`, with `what` and HDF5's error stack.
hid_t check(hid_t status, std::string_view what);
/// Silences HDF5's automatic error printing (errors become exceptions). Idempotent.
void init();

/// Owns one HDF5 identifier.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), close_(closer) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  /// Gives up ownership and returns the id.
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

/// A group or a file (both hold links and attributes). `path` is kept for messages.
class Node {
 public:
  Node() = default;
  Node(Handle h, std::string path) : h_(std::move(h)), path_(std::move(path)) {}
  hid_t id() const { return h_.id(); }
  const std::string& path() const { return path_; }
  /// Path of a child for messages ("file.h5:/oracle/layers/0").
  std::string child_path(std::string_view name) const;

  bool has(std::string_view name) const;  ///< a link of that name exists
  bool has_attr(std::string_view name) const;
  Node open_group(std::string_view name) const;
  Node create_group(std::string_view name) const;  ///< collective in parallel files
  /// Names of the links in this group, in creation order where tracked, else name order.
  std::vector<std::string> children() const;

  // Attributes (scalars, or 1-D arrays). Strings are variable-length UTF-8.
  void set_attr(std::string_view name, std::string_view value) const;
  void set_attr(std::string_view name, const std::vector<std::string>& value) const;
  void set_attr(std::string_view name, double value) const;
  void set_attr(std::string_view name, std::int64_t value) const;
  void set_attr(std::string_view name, std::uint64_t value) const;
  std::string attr_string(std::string_view name) const;
  std::vector<std::string> attr_strings(std::string_view name) const;
  double attr_double(std::string_view name) const;
  std::int64_t attr_int(std::string_view name) const;
  std::vector<std::string> attr_names() const;

  /// Writes a whole dataset of doubles with shape `dims` (row-major data), creating it.
  void write_doubles(std::string_view name, std::span<const hsize_t> dims,
                     std::span<const double> data) const;
  /// Reads a whole dataset of numbers as doubles; `dims` receives its shape.
  std::vector<double> read_doubles(std::string_view name, std::vector<hsize_t>& dims) const;

 protected:
  Handle h_;
  std::string path_;
};

enum class Mode { read_only, read_write };

/// An HDF5 file. Opening checks the signature first so that a non-HDF5 or truncated file
/// gives a clear message.
class File : public Node {
 public:
  File() = default;
  static File open(const std::string& path, Mode mode);
  /// Creates a new file; fails when it exists (`truncate` = false) or replaces it.
  static File create(const std::string& path, bool truncate);
  /// Opens an in-memory file image (the bytes of an HDF5 file), read-only.
  static File open_image(std::span<const std::byte> bytes, const std::string& label);
  void flush() const;  ///< collective in parallel files
  /// Closes now (errors surface here rather than silently in a destructor).
  void close();
};

}  // namespace invsweep::h5
