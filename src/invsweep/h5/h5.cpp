#include "invsweep/h5/h5.hpp"

#include <H5LTpublic.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "invsweep/h5/h5_detail.hpp"

namespace invsweep::h5 {

namespace {

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n > 3) return 0;  // the innermost few frames say what went wrong
  if (!out->empty()) out->append("; ");
  out->append(err->desc != nullptr ? err->desc : "?");
  return 0;
}

std::string error_stack_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

/// A variable-length UTF-8 string type.
Handle vlen_string_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "copy string type"), H5Tclose);
  check(H5Tset_size(t.id(), H5T_VARIABLE), "set string size");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set string charset");
  return t;
}

Handle scalar_space() {
  return {check(H5Screate(H5S_SCALAR), "create scalar space"), H5Sclose};
}

std::string name_str(std::string_view s) {
  return std::string(s);
}

}  // namespace

void init() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

namespace detail {
std::uint64_t g_row_write_calls = 0;  // one thread per process writes (Eigen and HDF5 single-threaded)

Handle simple_space(std::span<const hsize_t> dims) {
  return {check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "create dataspace"), H5Sclose};
}
}  // namespace detail

std::uint64_t row_write_calls() {
  return detail::g_row_write_calls;
}

hid_t check(hid_t status, std::string_view what) {
  if (status < 0) {
    std::string stack = error_stack_text();
    throw Error(stack.empty() ? std::string(what) : fmt::format("{} ({})", what, stack));
  }
  return status;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_ != nullptr) close_(id_);
  id_ = H5I_INVALID_HID;
}

std::string Node::child_path(std::string_view name) const {
  if (!path_.empty() && path_.back() == '/') return path_ + std::string(name);
  return fmt::format("{}/{}", path_, name);
}

bool Node::has(std::string_view name) const {
  const std::string n = name_str(name);
  const htri_t r = H5Lexists(id(), n.c_str(), H5P_DEFAULT);
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

bool Node::has_attr(std::string_view name) const {
  const std::string n = name_str(name);
  const htri_t r = H5Aexists(id(), n.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

Node Node::open_group(std::string_view name) const {
  const std::string n = name_str(name);
  if (!has(name)) throw Error(fmt::format("{}: missing group", child_path(name)));
  return {Handle(check(H5Gopen2(id(), n.c_str(), H5P_DEFAULT), fmt::format("{}: cannot open group", child_path(name))),
                 H5Gclose),
          child_path(name)};
}

Node Node::create_group(std::string_view name) const {
  const std::string n = name_str(name);
  Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "create lcpl"), H5Pclose);
  check(H5Pset_create_intermediate_group(lcpl.id(), 1), "set intermediate groups");
  return {Handle(check(H5Gcreate2(id(), n.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT),
                       fmt::format("{}: cannot create group", child_path(name))),
                 H5Gclose),
          child_path(name)};
}

std::vector<std::string> Node::children() const {
  std::vector<std::string> names;
  H5G_info_t info;
  check(H5Gget_info(id(), &info), fmt::format("{}: cannot list", path_));
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    check(len, fmt::format("{}: cannot read link name", path_));
    std::string s(static_cast<std::size_t>(len), '\0');
    check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), static_cast<std::size_t>(len) + 1,
                             H5P_DEFAULT),
          fmt::format("{}: cannot read link name", path_));
    names.push_back(std::move(s));
  }
  return names;
}

namespace {
Handle create_attr(const Node& node, std::string_view name, hid_t type, hid_t space) {
  const std::string n(name);
  if (H5Aexists(node.id(), n.c_str()) > 0)
    check(H5Adelete(node.id(), n.c_str()), fmt::format("{}: cannot replace attribute {}", node.path(), n));
  return {check(H5Acreate2(node.id(), n.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                fmt::format("{}: cannot create attribute {}", node.path(), n)),
          H5Aclose};
}

Handle open_attr(const Node& node, std::string_view name) {
  const std::string n(name);
  if (H5Aexists(node.id(), n.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(fmt::format("{}: missing attribute '{}'", node.path(), n));
  }
  return {
      check(H5Aopen(node.id(), n.c_str(), H5P_DEFAULT), fmt::format("{}: cannot open attribute {}", node.path(), n)),
      H5Aclose};
}

hssize_t attr_npoints(const Node& node, const Handle& a, std::string_view name) {
  Handle space(check(H5Aget_space(a.id()), "attribute space"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank > 1)
    throw Error(fmt::format("{}: attribute '{}' has {} dimensions, expected at most 1", node.path(), name, rank));
  return H5Sget_simple_extent_npoints(space.id());
}
}  // namespace

void Node::set_attr(std::string_view name, std::string_view value) const {
  Handle type = vlen_string_type();
  Handle space = scalar_space();
  Handle a = create_attr(*this, name, type.id(), space.id());
  const std::string v(value);
  const char* p = v.c_str();
  check(H5Awrite(a.id(), type.id(), &p), fmt::format("{}: write attribute {}", path_, name));
}

void Node::set_attr(std::string_view name, const std::vector<std::string>& value) const {
  Handle type = vlen_string_type();
  const hsize_t dims[1] = {value.size()};
  Handle space = detail::simple_space(dims);
  Handle a = create_attr(*this, name, type.id(), space.id());
  std::vector<const char*> ptrs;
  ptrs.reserve(value.size());
  for (const std::string& s : value)
    ptrs.push_back(s.c_str());
  check(H5Awrite(a.id(), type.id(), ptrs.data()), fmt::format("{}: write attribute {}", path_, name));
}

void Node::set_attr(std::string_view name, double value) const {
  Handle space = scalar_space();
  Handle a = create_attr(*this, name, H5T_IEEE_F64LE, space.id());
  check(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &value), fmt::format("{}: write attribute {}", path_, name));
}

void Node::set_attr(std::string_view name, std::int64_t value) const {
  Handle space = scalar_space();
  Handle a = create_attr(*this, name, H5T_STD_I64LE, space.id());
  check(H5Awrite(a.id(), H5T_NATIVE_INT64, &value), fmt::format("{}: write attribute {}", path_, name));
}

void Node::set_attr(std::string_view name, std::uint64_t value) const {
  Handle space = scalar_space();
  Handle a = create_attr(*this, name, H5T_STD_U64LE, space.id());
  check(H5Awrite(a.id(), H5T_NATIVE_UINT64, &value), fmt::format("{}: write attribute {}", path_, name));
}

std::vector<std::string> Node::attr_strings(std::string_view name) const {
  Handle a = open_attr(*this, name);
  Handle ftype(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
  if (H5Tget_class(ftype.id()) != H5T_STRING) throw Error(fmt::format("{}: attribute '{}' is not text", path_, name));
  const auto n = static_cast<std::size_t>(attr_npoints(*this, a, name));
  std::vector<std::string> out;
  if (H5Tis_variable_str(ftype.id()) > 0) {
    Handle mtype = vlen_string_type();
    std::vector<char*> ptrs(n, nullptr);
    check(H5Aread(a.id(), mtype.id(), ptrs.data()), fmt::format("{}: read attribute {}", path_, name));
    for (char* p : ptrs)
      out.emplace_back(p != nullptr ? p : "");
    Handle space(check(H5Aget_space(a.id()), "attribute space"), H5Sclose);
    H5Dvlen_reclaim(mtype.id(), space.id(), H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t len = H5Tget_size(ftype.id());
    std::vector<char> buf(n * len + 1, '\0');
    check(H5Aread(a.id(), ftype.id(), buf.data()), fmt::format("{}: read attribute {}", path_, name));
    for (std::size_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * len, len);
      s.erase(s.find_last_not_of('\0') + 1);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string Node::attr_string(std::string_view name) const {
  std::vector<std::string> v = attr_strings(name);
  if (v.size() != 1) throw Error(fmt::format("{}: attribute '{}' should be one string", path_, name));
  return v[0];
}

double Node::attr_double(std::string_view name) const {
  Handle a = open_attr(*this, name);
  Handle ftype(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
  const H5T_class_t c = H5Tget_class(ftype.id());
  if ((c != H5T_FLOAT && c != H5T_INTEGER) || attr_npoints(*this, a, name) != 1)
    throw Error(fmt::format("{}: attribute '{}' should be one number", path_, name));
  double v = 0;
  check(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v), fmt::format("{}: read attribute {}", path_, name));
  return v;
}

std::int64_t Node::attr_int(std::string_view name) const {
  Handle a = open_attr(*this, name);
  Handle ftype(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
  if (H5Tget_class(ftype.id()) != H5T_INTEGER || attr_npoints(*this, a, name) != 1)
    throw Error(fmt::format("{}: attribute '{}' should be one integer", path_, name));
  std::int64_t v = 0;
  check(H5Aread(a.id(), H5T_NATIVE_INT64, &v), fmt::format("{}: read attribute {}", path_, name));
  return v;
}

std::vector<std::string> Node::attr_names() const {
  H5O_info_t info;
  check(H5Oget_info2(id(), &info, H5O_INFO_NUM_ATTRS), fmt::format("{}: object info", path_));
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t len = H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    check(len, "attribute name");
    std::string s(static_cast<std::size_t>(len), '\0');
    check(H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), static_cast<std::size_t>(len) + 1,
                             H5P_DEFAULT),
          "attribute name");
    names.push_back(std::move(s));
  }
  return names;
}

void Node::write_doubles(std::string_view name, std::span<const hsize_t> dims, std::span<const double> data) const {
  const std::string n(name);
  Handle space = detail::simple_space(dims);
  Handle ds(check(H5Dcreate2(id(), n.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  fmt::format("{}: cannot create dataset", child_path(name))),
            H5Dclose);
  check(H5Dwrite(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        fmt::format("{}: cannot write", child_path(name)));
}

std::vector<double> Node::read_doubles(std::string_view name, std::vector<hsize_t>& dims) const {
  const std::string n(name);
  if (!has(name)) throw Error(fmt::format("{}: missing dataset", child_path(name)));
  Handle ds(check(H5Dopen2(id(), n.c_str(), H5P_DEFAULT), fmt::format("{}: cannot open dataset", child_path(name))),
            H5Dclose);
  Handle type(check(H5Dget_type(ds.id()), "dataset type"), H5Tclose);
  const H5T_class_t c = H5Tget_class(type.id());
  if (c != H5T_FLOAT && c != H5T_INTEGER) throw Error(fmt::format("{}: expected numbers", child_path(name)));
  Handle space(check(H5Dget_space(ds.id()), "dataset space"), H5Sclose);
  const auto rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space.id()), "dataset rank"));
  dims.assign(static_cast<std::size_t>(rank), 0);
  if (rank > 0) check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), "dataset dims");
  const auto npoints = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.id()));
  std::vector<double> data(npoints);
  if (npoints > 0)
    check(H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
          fmt::format("{}: cannot read", child_path(name)));
  return data;
}

namespace {
/// File access properties: MPI-IO over `comm`, or the default driver.
Handle file_access(MPI_Comm comm) {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "create fapl"), H5Pclose);
  if (comm == MPI_COMM_NULL) return fapl;
  // A write of scattered rows must never become a read-modify-write of the range between
  // them (ROMIO's data sieving): another rank may write a row inside that range meanwhile,
  // and only ranks whose own write is scattered would take the lock that guards it.
  MPI_Info info = MPI_INFO_NULL;
  MPI_Info_create(&info);
  MPI_Info_set(info, "romio_ds_write", "disable");
  const herr_t status = H5Pset_fapl_mpio(fapl.id(), comm, info);  // copies the info
  MPI_Info_free(&info);
  check(status, "set MPI-IO file access");
  return fapl;
}
}  // namespace

File File::open(const std::string& path, Mode mode, MPI_Comm comm) {
  init();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: no such file", path));
  if (std::filesystem::is_directory(path, ec))
    throw Error(fmt::format("{}: is a directory, expected an HDF5 file", path));
  const htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(fmt::format("{}: not an HDF5 file (or unreadable)", path));
  }
  const unsigned flags = mode == Mode::read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  File f;
  const Handle fapl = file_access(comm);
  f.h_ = Handle(check(H5Fopen(path.c_str(), flags, fapl.id()),
                      fmt::format("{}: cannot open HDF5 file (truncated or damaged?)", path)),
                H5Fclose);
  f.path_ = path + ":/";
  return f;
}

File File::create(const std::string& path, bool truncate, MPI_Comm comm) {
  init();
  File f;
  const Handle fapl = file_access(comm);
  f.h_ = Handle(check(H5Fcreate(path.c_str(), truncate ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()),
                      fmt::format("{}: cannot create HDF5 file", path)),
                H5Fclose);
  f.path_ = path + ":/";
  return f;
}

File File::open_image(std::span<const std::byte> bytes, const std::string& label) {
  init();
  File f;
  // H5LT copies the buffer; the flags let it be read-only.
  f.h_ = Handle(check(H5LTopen_file_image(const_cast<std::byte*>(bytes.data()), bytes.size(), 0),
                      fmt::format("{}: not a valid HDF5 image (truncated or damaged?)", label)),
                H5Fclose);
  f.path_ = label + ":/";
  return f;
}

void File::flush() const {
  check(H5Fflush(id(), H5F_SCOPE_GLOBAL), fmt::format("{}: flush", path_));
}

void File::close() {
  if (!h_.valid()) return;
  check(H5Fclose(h_.release()), fmt::format("{}: close", path_));
}

}  // namespace invsweep::h5
