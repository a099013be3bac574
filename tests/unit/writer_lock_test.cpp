// One writer per results file (core/lock.hpp), and the output-path checks (core/io.hpp) that
// keep a command from writing over its own input or through a name that cannot be a file.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/lock.hpp"
#include "scratch.hpp"

namespace invsweep::testing {
namespace {

namespace fs = std::filesystem;

class WriterLockTest : public ScratchTest {};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST_F(WriterLockTest, SecondHolderIsRefusedNamingTheFirst) {
  const std::string out = path("out.h5");
  {
    const WriterLock first = WriterLock::acquire(out);
    EXPECT_TRUE(first.held());
    EXPECT_TRUE(fs::exists(lock_path(out)));
    // A second open file description conflicts even inside the same process.
    const std::string msg = message_of([&] { (void)WriterLock::acquire(out); });
    EXPECT_NE(msg.find("another invsweep run is writing it"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fmt::format("pid {}", ::getpid())), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(lock_path(out)));  // released and removed
  const WriterLock again = WriterLock::acquire(out);
  EXPECT_TRUE(again.held());
}

TEST_F(WriterLockTest, LockFileLeftByADeadHolderBlocksNobody) {
  const std::string out = path("out.h5");
  std::ofstream(lock_path(out)) << "pid 1 on host gone, since 2000-01-01T00:00:00Z\n";
  const WriterLock lock = WriterLock::acquire(out);
  EXPECT_TRUE(lock.held());
}

TEST_F(WriterLockTest, MovedLockStaysHeld) {
  const std::string out = path("out.h5");
  WriterLock a = WriterLock::acquire(out);
  WriterLock b = std::move(a);
  EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_TRUE(b.held());
  EXPECT_FALSE(message_of([&] { (void)WriterLock::acquire(out); }).empty());
}

TEST_F(WriterLockTest, PathNamesThatCannotBeFilesAreRefused) {
  EXPECT_NE(message_of([] { check_path_name("", "--out"); }).find("empty path"), std::string::npos);
  EXPECT_NE(message_of([] { check_path_name(std::string("a\0b", 3), "--out"); }).find("NUL byte"), std::string::npos);
  EXPECT_NE(message_of([] { check_path_name("d/" + std::string(256, 'n'), "--out"); }).find("name too long"),
            std::string::npos);
  EXPECT_NE(message_of([] { check_path_name(std::string(5000, 'a'), "--out"); }).find("name too long"),
            std::string::npos);
  EXPECT_EQ(message_of([] { check_path_name("d/" + std::string(255, 'n'), "--out"); }), "");
  fs::create_symlink("missing/target.h5", path("dangling.h5"));
  const std::string msg = message_of([&] { check_output_path(path("dangling.h5"), true, "--out"); });
  EXPECT_NE(msg.find("symbolic link"), std::string::npos) << msg;
}

TEST_F(WriterLockTest, SameFileIsTheSameInodeWhateverTheSpelling) {
  std::ofstream(path("a.csv")) << "x\n1\n";
  fs::create_hard_link(path("a.csv"), path("b.csv"));
  fs::create_symlink("a.csv", path("c.csv"));
  EXPECT_TRUE(same_file(path("a.csv"), dir_.string() + "/./a.csv"));
  EXPECT_TRUE(same_file(path("a.csv"), path("b.csv")));
  EXPECT_TRUE(same_file(path("a.csv"), path("c.csv")));
  EXPECT_FALSE(same_file(path("a.csv"), path("missing.csv")));
  const std::string msg = message_of([&] {
    check_not_an_input(path("b.csv"), "--out", {{path("a.csv"), "--data file"}});
  });
  EXPECT_NE(msg.find("same file as the --data file"), std::string::npos) << msg;
}

}  // namespace
}  // namespace invsweep::testing
