// test_hs_dir.cpp - reading a Tor HiddenServiceDir (tor(1) HiddenServiceDir;
// file layout as tor writes it: tests/data/hs_v1/README.md).
//
// Each test builds its directory under a fresh mkdtemp() directory, with the
// file layout tor writes: `hostname` = "<56>.onion\n" (63 bytes) and
// `hs_ed25519_public_key` = 32-byte header "== ed25519v1-public: type0 =="
// NUL-padded, then the 32-byte key (64 bytes).
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "address/hs_dir.hpp"

namespace {

using onionmx::address::read_hs_dir;
using onionmx::base::Status;

constexpr const char* kV1Host = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
constexpr const char* kV1Pk = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr const char* kV2Host = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
// docs/test-vectors.md §1.5: identity key with a valid checksum, and its key.
constexpr const char* kIdentityHost =
    "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion";

std::string unhex(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  std::size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0)
    ADD_FAILURE() << "bad hex " << hex;
  return out;
}

std::string header(std::string_view text = "== ed25519v1-public: type0 ==") {
  std::string h(text);
  h.resize(32, '\0');
  return h;
}

class HsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/onionmx-hsdir-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void write(const std::string& name, std::string_view content) {
    std::ofstream out(dir_ + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    ASSERT_TRUE(out.good()) << name;
  }
  void write_good_v1() {
    write("hostname", std::string(kV1Host) + "\n");
    write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  }

  // The call must fail with `status`, and the message must name the file.
  void expect_error(onionmx::base::Status status, std::string_view file,
                    std::string_view also = {}) {
    auto r = read_hs_dir(dir_);
    ASSERT_FALSE(r) << "accepted, address " << r->address;
    EXPECT_EQ(r.error().code, status) << r.error().detail;
    EXPECT_NE(r.error().detail.find(file), std::string::npos) << r.error().detail;
    if (!also.empty()) {
      EXPECT_NE(r.error().detail.find(also), std::string::npos) << r.error().detail;
    }
  }

  std::string dir_;
};

TEST_F(HsDirTest, TorWrittenV1DirectoryGivesTheV1Address) {
  write_good_v1();
  write("hs_ed25519_secret_key", header("== ed25519v1-secret: type0 ==") + std::string(64, '\x42'));
  auto r = read_hs_dir(dir_);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->address, kV1Host);
  EXPECT_EQ(r->full, kV1Host);
  EXPECT_EQ(std::string(r->pubkey.begin(), r->pubkey.end()), unhex(kV1Pk));
}

TEST(HsDirFixture, CommittedV1DirectoryInTorLayoutIsRead) {
  auto r = read_hs_dir(std::string(ONIONMX_TEST_DATA) + "/hs_v1");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->address, kV1Host);
  EXPECT_EQ(std::string(r->pubkey.begin(), r->pubkey.end()), unhex(kV1Pk));
}

TEST_F(HsDirTest, FilesOfTheExactTorSizesAreAccepted) {
  write_good_v1();
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/hostname"), 63u);
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/hs_ed25519_public_key"), 64u);
  EXPECT_TRUE(read_hs_dir(dir_));
}

TEST_F(HsDirTest, TrailingSlashOnTheDirectoryIsHarmless) {
  write_good_v1();
  EXPECT_TRUE(read_hs_dir(dir_ + "/"));
}

TEST_F(HsDirTest, KeyFileOneByteShortIsRejectedWithItsSize) {
  write("hostname", std::string(kV1Host) + "\n");
  write("hs_ed25519_public_key", header() + unhex(kV1Pk).substr(0, 31));
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key", "63");
}

TEST_F(HsDirTest, KeyFileOneByteLongIsRejectedWithItsSize) {
  write("hostname", std::string(kV1Host) + "\n");
  write("hs_ed25519_public_key", header() + unhex(kV1Pk) + "\n");
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key", "65");
}

TEST_F(HsDirTest, EmptyKeyFileIsRejected) {
  write("hostname", std::string(kV1Host) + "\n");
  write("hs_ed25519_public_key", "");
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key");
}

TEST_F(HsDirTest, RawKeyWithoutTheHeaderIsRejected) {
  write("hostname", std::string(kV1Host) + "\n");
  write("hs_ed25519_public_key", unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key");
}

TEST_F(HsDirTest, SecretKeyHeaderInThePublicKeyFileIsRejected) {
  write("hostname", std::string(kV1Host) + "\n");
  write("hs_ed25519_public_key", header("== ed25519v1-secret: type0 ==") + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key", "header");
}

TEST_F(HsDirTest, HeaderIsCheckedToTheLastPaddingByte) {
  write("hostname", std::string(kV1Host) + "\n");
  std::string h = header();
  h[31] = ' ';
  write("hs_ed25519_public_key", h + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hs_ed25519_public_key", "header");
}

TEST_F(HsDirTest, HostnameOfAnotherKeyIsAMismatchNamingBothAddresses) {
  write("hostname", std::string(kV2Host) + "\n");
  write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hostname", kV1Host);
  auto r = read_hs_dir(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find(kV2Host), std::string::npos) << r.error().detail;
}

TEST_F(HsDirTest, HostnameWithABadChecksumIsRejected) {
  write("hostname", "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion\n");
  write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hostname", "checksum");
}

TEST_F(HsDirTest, HostnameThatIsNotAnOnionAddressIsRejected) {
  for (std::string_view bad :
       {"example.org\n", "\n", "", "expyuzz4wqqyqhjn.onion\n",
        "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion\n\n",
        "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion\r\n"}) {
    write("hostname", bad);
    write("hs_ed25519_public_key", header() + unhex(kV1Pk));
    expect_error(onionmx::base::Status::BadData, "hostname");
  }
}

TEST_F(HsDirTest, HostnameWithASubdomainIsRejected) {
  write("hostname", std::string("smtp.") + kV1Host + "\n");
  write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hostname");
}

TEST_F(HsDirTest, KeyThatIsNotAValidPointIsRejectedEvenWhenTheFilesAgree) {
  std::string identity(32, '\0');
  identity[0] = '\x01';
  write("hostname", std::string(kIdentityHost) + "\n");
  write("hs_ed25519_public_key", header() + identity);
  expect_error(onionmx::base::Status::BadData, "hostname");
}

TEST_F(HsDirTest, MissingHostnameIsAnIoErrorNamingTheFile) {
  write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  expect_error(onionmx::base::Status::Io, "hostname");
}

TEST_F(HsDirTest, MissingPublicKeyIsAnIoErrorNamingTheFile) {
  write("hostname", std::string(kV1Host) + "\n");
  expect_error(onionmx::base::Status::Io, "hs_ed25519_public_key");
}

TEST_F(HsDirTest, MissingDirectoryIsAnIoError) {
  auto r = read_hs_dir(dir_ + "/does-not-exist");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, onionmx::base::Status::Io) << r.error().detail;
  EXPECT_NE(r.error().detail.find("does-not-exist"), std::string::npos) << r.error().detail;
}

TEST_F(HsDirTest, HugeHostnameFileIsRejectedWithoutReadingItAll) {
  write("hostname", std::string(kV1Host) + "\n" + std::string(1 << 20, 'x'));
  write("hs_ed25519_public_key", header() + unhex(kV1Pk));
  expect_error(onionmx::base::Status::BadData, "hostname");
}

TEST_F(HsDirTest, PublicKeyPathThatIsADirectoryIsNotAccepted) {
  write("hostname", std::string(kV1Host) + "\n");
  ASSERT_EQ(mkdir((dir_ + "/hs_ed25519_public_key").c_str(), 0700), 0);
  auto r = read_hs_dir(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("hs_ed25519_public_key"), std::string::npos) << r.error().detail;
}

}  // namespace
