// Datasets of an HDF5 file (h5.hpp): creation with early allocation and fill values, rows read
// and written by hyperslab (one call per block or row set), and fixed-length string sets.
#include <fmt/format.h>

#include <algorithm>

#include "invsweep/h5/h5.hpp"
#include "invsweep/h5/h5_detail.hpp"

namespace invsweep::h5 {

namespace {
Handle fixed_string_type(std::size_t width) {
  Handle t(check(H5Tcopy(H5T_C_S1), "copy string type"), H5Tclose);
  check(H5Tset_size(t.id(), width), "set string size");
  check(H5Tset_strpad(t.id(), H5T_STR_NULLPAD), "set string padding");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set string charset");
  return t;
}

Handle create_dataset(const Node& parent, std::string_view name, hid_t file_type, const std::vector<hsize_t>& dims,
                      hid_t mem_type, const void* fill) {
  Handle space = detail::simple_space(dims);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "create dcpl"), H5Pclose);
  check(H5Pset_layout(dcpl.id(), H5D_CONTIGUOUS), "set contiguous layout");
  check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "set early allocation");
  if (fill != nullptr) {
    check(H5Pset_fill_value(dcpl.id(), mem_type, fill), "set fill value");
    check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_ALLOC), "set fill time");
  }
  const std::string n(name);
  return {check(H5Dcreate2(parent.id(), n.c_str(), file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                fmt::format("{}: cannot create dataset", parent.child_path(name))),
          H5Dclose};
}
}  // namespace

Dataset Dataset::create(const Node& parent, std::string_view name, hid_t file_type, hid_t mem_type,
                        std::vector<hsize_t> dims, const void* fill) {
  Dataset d;
  d.h_ = create_dataset(parent, name, file_type, dims, mem_type, fill);
  d.dims_ = std::move(dims);
  d.path_ = parent.child_path(name);
  return d;
}

Dataset Dataset::create_strings(const Node& parent, std::string_view name, std::vector<hsize_t> dims,
                                std::size_t width) {
  const Handle t = fixed_string_type(width);
  Dataset d;
  d.h_ = create_dataset(parent, name, t.id(), dims, t.id(), nullptr);
  d.dims_ = std::move(dims);
  d.path_ = parent.child_path(name);
  d.str_width_ = width;
  return d;
}

Dataset Dataset::open(const Node& parent, std::string_view name) {
  Dataset d;
  d.path_ = parent.child_path(name);
  if (!parent.has(name)) throw Error(fmt::format("{}: missing dataset", d.path_));
  const std::string n(name);
  d.h_ = Handle(check(H5Dopen2(parent.id(), n.c_str(), H5P_DEFAULT), fmt::format("{}: cannot open dataset", d.path_)),
                H5Dclose);
  Handle space(check(H5Dget_space(d.h_.id()), "dataset space"), H5Sclose);
  const auto rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space.id()), "dataset rank"));
  d.dims_.assign(static_cast<std::size_t>(rank), 0);
  if (rank > 0) check(H5Sget_simple_extent_dims(space.id(), d.dims_.data(), nullptr), "dataset dims");
  Handle type(check(H5Dget_type(d.h_.id()), "dataset type"), H5Tclose);
  if (H5Tget_class(type.id()) == H5T_STRING && H5Tis_variable_str(type.id()) <= 0)
    d.str_width_ = H5Tget_size(type.id());
  return d;
}

H5T_class_t Dataset::type_class() const {
  Handle type(check(H5Dget_type(h_.id()), "dataset type"), H5Tclose);
  return H5Tget_class(type.id());
}

hsize_t Dataset::row_size() const {
  hsize_t n = 1;
  for (std::size_t i = 1; i < dims_.size(); ++i)
    n *= dims_[i];
  return n;
}

namespace {
/// File and memory spaces selecting rows [row, row + count) of a dataset of shape `dims`.
std::pair<Handle, Handle> row_spaces(hid_t ds, const std::vector<hsize_t>& dims, hsize_t row, hsize_t count,
                                     const std::string& path) {
  if (dims.empty() || row + count > dims[0])
    throw Error(fmt::format("{}: rows {}..{} out of range", path, row, row + count));
  Handle file_space(check(H5Dget_space(ds), "dataset space"), H5Sclose);
  std::vector<hsize_t> start(dims.size(), 0), cnt = dims;
  start[0] = row;
  cnt[0] = count;
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr),
        "select rows");
  return {std::move(file_space), detail::simple_space(cnt)};
}
}  // namespace

void Dataset::write_rows(hsize_t row, hsize_t count, hid_t mem_type, const void* data) const {
  if (count == 0) return;
  const auto [file_space, mem_space] = row_spaces(h_.id(), dims_, row, count, path_);
  ++detail::g_row_write_calls;
  check(H5Dwrite(h_.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data),
        fmt::format("{}: cannot write rows {}..{}", path_, row, row + count));
}

void Dataset::write_row_set(std::span<const hsize_t> rows, hid_t mem_type, const void* data) const {
  if (rows.empty()) return;
  if (dims_.empty() || rows.back() >= dims_[0]) throw Error(fmt::format("{}: row {} out of range", path_, rows.back()));
  Handle file_space(check(H5Dget_space(h_.id()), "dataset space"), H5Sclose);
  std::vector<hsize_t> start(dims_.size(), 0), cnt = dims_;
  // One block per run of consecutive rows, OR-ed into the selection in increasing order: the
  // selection's order (the file's) is then the memory order.
  H5S_seloper_t op = H5S_SELECT_SET;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1)
      ++j;
    if (j < rows.size() && rows[j] <= rows[j - 1])
      throw std::logic_error(fmt::format("{}: rows to write are not strictly increasing", path_));
    start[0] = rows[i];
    cnt[0] = j - i;
    check(H5Sselect_hyperslab(file_space.id(), op, start.data(), nullptr, cnt.data(), nullptr), "select rows");
    op = H5S_SELECT_OR;
    i = j;
  }
  cnt[0] = rows.size();
  const Handle mem_space = detail::simple_space(cnt);
  ++detail::g_row_write_calls;
  check(H5Dwrite(h_.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data),
        fmt::format("{}: cannot write {} rows from row {}", path_, rows.size(), rows.front()));
}

void Dataset::read_rows(hsize_t row, hsize_t count, hid_t mem_type, void* data) const {
  if (count == 0) return;
  const auto [file_space, mem_space] = row_spaces(h_.id(), dims_, row, count, path_);
  check(H5Dread(h_.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data),
        fmt::format("{}: cannot read rows {}..{}", path_, row, row + count));
}

void Dataset::write_strings(hsize_t row, const std::vector<std::string>& values) const {
  if (str_width_ == 0) throw Error(fmt::format("{}: not a fixed-length string dataset", path_));
  std::string buf(values.size() * str_width_, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i].copy(buf.data() + i * str_width_, std::min(values[i].size(), str_width_));
  const Handle t = fixed_string_type(str_width_);
  write_rows(row, values.size(), t.id(), buf.data());
}

void Dataset::write_strings_at(std::span<const hsize_t> rows, const std::vector<std::string>& values) const {
  if (str_width_ == 0) throw Error(fmt::format("{}: not a fixed-length string dataset", path_));
  if (rows.size() != values.size())
    throw std::logic_error(fmt::format("{}: {} rows for {} strings", path_, rows.size(), values.size()));
  std::string buf(values.size() * str_width_, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i].copy(buf.data() + i * str_width_, std::min(values[i].size(), str_width_));
  const Handle t = fixed_string_type(str_width_);
  write_row_set(rows, t.id(), buf.data());
}

std::vector<std::string> Dataset::read_strings() const {
  return read_strings(0, dims_.empty() ? 0 : dims_[0]);
}

std::vector<std::string> Dataset::read_strings(hsize_t row, hsize_t n) const {
  if (str_width_ == 0) throw Error(fmt::format("{}: not a fixed-length string dataset", path_));
  std::string buf(n * str_width_, '\0');
  const Handle t = fixed_string_type(str_width_);
  read_rows(row, n, t.id(), buf.data());
  std::vector<std::string> out;
  for (hsize_t i = 0; i < n; ++i) {
    std::string v = buf.substr(i * str_width_, str_width_);
    v.erase(std::find(v.begin(), v.end(), '\0'), v.end());
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace invsweep::h5
