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
#include <mpi.h>

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
/// H5Dwrite calls made by this process through Dataset::write_rows / write_row_set /
/// write_strings so far (the runner reports them per task).
std::uint64_t row_write_calls();

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
  void write_doubles(std::string_view name, std::span<const hsize_t> dims, std::span<const double> data) const;
  /// Reads a whole dataset of numbers as doubles; `dims` receives its shape.
  std::vector<double> read_doubles(std::string_view name, std::vector<hsize_t>& dims) const;

 protected:
  Handle h_;
  std::string path_;
};

enum class Mode { read_only, read_write };

/// The HDF5 memory type of a C++ number type.
template <class T>
hid_t native();
template <>
inline hid_t native<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
inline hid_t native<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
inline hid_t native<std::int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
inline hid_t native<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
inline hid_t native<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
inline hid_t native<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}

/// A dataset of numbers or fixed-length strings, contiguous and allocated at creation (so
/// that ranks can write its rows independently without touching the file's structure).
class Dataset {
 public:
  Dataset() = default;
  /// COLLECTIVE in parallel files. Creates `name` under `parent` with shape `dims`, file type
  /// `file_type` (such as H5T_IEEE_F64LE) and every element set to `*fill` (memory type
  /// `mem_type`) at creation.
  static Dataset create(const Node& parent, std::string_view name, hid_t file_type, hid_t mem_type,
                        std::vector<hsize_t> dims, const void* fill);
  /// COLLECTIVE in parallel files: a dataset of fixed-length strings (`width` bytes, padded).
  static Dataset create_strings(const Node& parent, std::string_view name, std::vector<hsize_t> dims,
                                std::size_t width);
  static Dataset open(const Node& parent, std::string_view name);

  /// False for a default-constructed (or closed) dataset.
  bool valid() const { return h_.valid(); }
  const std::vector<hsize_t>& dims() const { return dims_; }
  const std::string& path() const { return path_; }
  /// Elements in one row (the product of every dimension but the first).
  hsize_t row_size() const;
  /// INDEPENDENT: writes rows [row, row + count) of the first dimension from contiguous
  /// row-major memory of `mem_type` (H5T_NATIVE_*, or the string type for string sets).
  void write_rows(hsize_t row, hsize_t count, hid_t mem_type, const void* data) const;
  void read_rows(hsize_t row, hsize_t count, hid_t mem_type, void* data) const;
  /// INDEPENDENT: writes the rows `rows` (strictly increasing, need not be consecutive) in ONE
  /// H5Dwrite: memory row i (contiguous, row-major, `mem_type`) goes to file row rows[i]. Runs
  /// of consecutive rows become one block of the file selection.
  void write_row_set(std::span<const hsize_t> rows, hid_t mem_type, const void* data) const;
  /// Writes / reads strings of a string dataset, `count` rows from `row`.
  void write_strings(hsize_t row, const std::vector<std::string>& values) const;
  /// Strings of a string dataset into the rows `rows` (strictly increasing), one H5Dwrite.
  void write_strings_at(std::span<const hsize_t> rows, const std::vector<std::string>& values) const;
  std::vector<std::string> read_strings() const;
  /// `count` strings from row `row`.
  std::vector<std::string> read_strings(hsize_t row, hsize_t count) const;
  /// The class of the stored type (H5T_FLOAT, H5T_INTEGER, H5T_STRING, ...).
  H5T_class_t type_class() const;

  template <class T>
  void write_rows(hsize_t row, hsize_t count, const T* data) const {
    write_rows(row, count, native<T>(), data);
  }
  template <class T>
  void write_row_set(std::span<const hsize_t> rows, const T* data) const {
    write_row_set(rows, native<T>(), data);
  }
  template <class T>
  std::vector<T> read_all() const {
    std::vector<T> out(static_cast<std::size_t>(dims_.empty() ? 1 : dims_[0] * row_size()));
    if (!out.empty() && (dims_.empty() || dims_[0] > 0))
      read_rows(0, dims_.empty() ? 1 : dims_[0], native<T>(), out.data());
    return out;
  }

 private:
  Handle h_;
  std::vector<hsize_t> dims_;
  std::string path_;
  std::size_t str_width_ = 0;
};

/// An HDF5 file. Opening checks the signature first so that a non-HDF5 or truncated file
/// gives a clear message.
class File : public Node {
 public:
  File() = default;
  /// With `comm` other than MPI_COMM_NULL the file is opened through MPI-IO by every rank of
  /// `comm` together (COLLECTIVE); otherwise by this process alone.
  static File open(const std::string& path, Mode mode, MPI_Comm comm = MPI_COMM_NULL);
  /// Creates a new file; fails when it exists (`truncate` = false) or replaces it.
  /// COLLECTIVE over `comm` when given, as for open().
  static File create(const std::string& path, bool truncate, MPI_Comm comm = MPI_COMM_NULL);
  /// Opens an in-memory file image (the bytes of an HDF5 file), read-only.
  static File open_image(std::span<const std::byte> bytes, const std::string& label);
  void flush() const;  ///< collective in parallel files
  /// Closes now (errors surface here rather than silently in a destructor).
  void close();
};

}  // namespace invsweep::h5
