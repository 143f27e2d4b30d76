// test_base.cpp - base32, ASCII string helpers and the status model.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/base32.hpp"
#include "base/status.hpp"
#include "base/strings.hpp"

namespace {

namespace b32 = onionmx::base32;
using onionmx::base::Outcome;
using onionmx::base::Status;

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// ------------------------------------------------------------------ base32

// RFC 4648 §10 test vectors, lower case and without '=' padding.
TEST(Base32, EncodesTheRfc4648VectorsInLowerCaseWithoutPadding) {
  EXPECT_EQ(b32::encode(bytes("")), "");
  EXPECT_EQ(b32::encode(bytes("f")), "my");
  EXPECT_EQ(b32::encode(bytes("fo")), "mzxq");
  EXPECT_EQ(b32::encode(bytes("foo")), "mzxw6");
  EXPECT_EQ(b32::encode(bytes("foob")), "mzxw6yq");
  EXPECT_EQ(b32::encode(bytes("fooba")), "mzxw6ytb");
  EXPECT_EQ(b32::encode(bytes("foobar")), "mzxw6ytboi");
}

TEST(Base32, DecodesWholeEightCharacterGroups) {
  EXPECT_EQ(b32::decode(""), std::vector<std::uint8_t>{});
  EXPECT_EQ(b32::decode("mzxw6ytb"), bytes("fooba"));
  EXPECT_EQ(b32::decode("aaaaaaaa"), std::vector<std::uint8_t>(5, 0));
  EXPECT_EQ(b32::decode("77777777"), std::vector<std::uint8_t>(5, 0xff));
}

TEST(Base32, RoundTripsRandomInputsWhoseLengthIsAMultipleOfFive) {
  ASSERT_GE(sodium_init(), 0);
  for (std::size_t len = 0; len <= 100; len += 5) {
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<std::uint8_t> in(len);
      if (!in.empty()) randombytes_buf(in.data(), in.size());  // nonnull even for 0 bytes
      const std::string text = b32::encode(in);
      ASSERT_EQ(text.size(), len * 8 / 5);
      ASSERT_EQ(b32::first_invalid(text), std::string_view::npos) << text;
      auto out = b32::decode(text);
      ASSERT_TRUE(out) << text;
      ASSERT_EQ(*out, in);
    }
  }
}

TEST(Base32, RejectsUpperCasePaddingAndCharactersOutsideTheAlphabet) {
  for (const char* text : {"MZXW6YTB", "mzxw6ytB", "mzxw6y==", "mzxw6yt1", "mzxw6yt0", "mzxw6yt8",
                           "mzxw6yt9", "mzxw6yt ", "mzxw6yt.", "mzxw-ytb"}) {
    EXPECT_FALSE(b32::decode(text)) << text;
  }
  std::string with_nul = "mzxw6ytb";
  with_nul[3] = '\0';
  EXPECT_FALSE(b32::decode(with_nul));
  std::string with_high = "mzxw6ytb";
  with_high[3] = '\xe1';
  EXPECT_FALSE(b32::decode(with_high));
}

TEST(Base32, RejectsLengthsThatAreNotAMultipleOfEight) {
  for (const char* text : {"m", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytbo", "mzxw6ytboi"})
    EXPECT_FALSE(b32::decode(text)) << text;
}

TEST(Base32, FirstInvalidPointsAtTheFirstCharacterOutsideTheAlphabet) {
  EXPECT_EQ(b32::first_invalid(""), std::string_view::npos);
  EXPECT_EQ(b32::first_invalid("abcxyz234567"), std::string_view::npos);
  EXPECT_EQ(b32::first_invalid("1abc"), 0u);
  EXPECT_EQ(b32::first_invalid("abc8"), 3u);
  EXPECT_EQ(b32::first_invalid("abAb0"), 2u);
  EXPECT_EQ(b32::first_invalid("ab=="), 2u);
}

TEST(Base32, EveryByteOutsideTheAlphabetIsInvalid) {
  const std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool in = alphabet.find(ch) != std::string_view::npos;
    EXPECT_EQ(b32::first_invalid(std::string_view(&ch, 1)) == std::string_view::npos, in) << c;
  }
}

// ----------------------------------------------------------------- strings

TEST(Strings, AsciiLowerChangesOnlyAtoZ) {
  EXPECT_EQ(onionmx::base::ascii_lower('A'), 'a');
  EXPECT_EQ(onionmx::base::ascii_lower('Z'), 'z');
  EXPECT_EQ(onionmx::base::ascii_lower('M'), 'm');
  for (char c : std::string_view("@[`{az09.-_ \t"))
    EXPECT_EQ(onionmx::base::ascii_lower(c), c) << c;
  // Latin-1 'Ä' (0xC4) and UTF-8 lead bytes are never touched (no locale).
  for (int c = 0x80; c < 0x100; ++c)
    EXPECT_EQ(onionmx::base::ascii_lower(static_cast<char>(c)), static_cast<char>(c)) << c;
}

TEST(Strings, AsciiLowercaseFoldsAWholeDomain) {
  EXPECT_EQ(onionmx::base::ascii_lowercase("User+Ext@A.B.Example.ORG"), "user+ext@a.b.example.org");
  EXPECT_EQ(onionmx::base::ascii_lowercase("\xc3\x9c@B\xc3\xbc"), "\xc3\x9c@b\xc3\xbc");
  EXPECT_EQ(onionmx::base::ascii_lowercase(""), "");
}

TEST(Strings, AsciiIequalsIgnoresCaseButNotLength) {
  EXPECT_TRUE(onionmx::base::ascii_iequals("Example.ORG", "example.org"));
  EXPECT_TRUE(onionmx::base::ascii_iequals("", ""));
  EXPECT_FALSE(onionmx::base::ascii_iequals("example.org", "example.org."));
  EXPECT_FALSE(onionmx::base::ascii_iequals("example.org", "examplf.org"));
  EXPECT_FALSE(onionmx::base::ascii_iequals("[", "{"));  // 0x5b vs 0x7b differ by 0x20 too
}

TEST(Strings, EndsWithLabelMatchesWholeLabelsOnly) {
  EXPECT_TRUE(onionmx::base::ends_with_label("x.onion", "onion"));
  EXPECT_TRUE(onionmx::base::ends_with_label("a.b.ONION", "onion"));
  EXPECT_TRUE(onionmx::base::ends_with_label("onion", "onion"));
  EXPECT_TRUE(onionmx::base::ends_with_label("mail.example.org", "example.org"));
  EXPECT_FALSE(onionmx::base::ends_with_label("xonion", "onion"));
  EXPECT_FALSE(onionmx::base::ends_with_label("badexample.org", "example.org"));
  EXPECT_FALSE(onionmx::base::ends_with_label("nion", "onion"));
  EXPECT_FALSE(onionmx::base::ends_with_label("", "onion"));
  EXPECT_FALSE(onionmx::base::ends_with_label("x.onion.", "onion"));
}

TEST(Strings, TrimRemovesSpacesTabsAndLineEndsAtBothEnds) {
  EXPECT_EQ(onionmx::base::trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(onionmx::base::trim("\r\n"), "");
  EXPECT_EQ(onionmx::base::trim(""), "");
  EXPECT_EQ(onionmx::base::trim("x"), "x");
  EXPECT_EQ(onionmx::base::trim("\vx\f"), "\vx\f");  // only " \t\r\n"
}

TEST(Strings, PrintableEscapesControlBackslashAndNonAscii) {
  EXPECT_EQ(onionmx::base::printable("plain text"), "plain text");
  EXPECT_EQ(onionmx::base::printable(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(onionmx::base::printable("tab\there"), "tab\\x09here");
  EXPECT_EQ(onionmx::base::printable("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(onionmx::base::printable("\xc3\x9c"), "\\xc3\\x9c");
  EXPECT_EQ(onionmx::base::printable("\x7f"), "\\x7f");
}

TEST(Strings, PrintableCutsLongInputAndMarksTheCut) {
  EXPECT_EQ(onionmx::base::printable(std::string(200, 'a'), 10), std::string(10, 'a') + "...");
  EXPECT_EQ(onionmx::base::printable(std::string(10, 'a'), 10), std::string(10, 'a'));
  const std::string long_default = onionmx::base::printable(std::string(1000, 'b'));
  EXPECT_LT(long_default.size(), 200u);
  EXPECT_EQ(long_default.substr(long_default.size() - 3), "...");
}

// ------------------------------------------------------------------ status

const onionmx::base::Status kAllStatuses[] = {
    onionmx::base::Status::Ok,    onionmx::base::Status::NotFound, onionmx::base::Status::Temp,
    onionmx::base::Status::Inval, onionmx::base::Status::BadData,  onionmx::base::Status::BadSig,
    onionmx::base::Status::Io,    onionmx::base::Status::NoMem,    onionmx::base::Status::Internal};

TEST(StatusModel, OkIsFoundAndNotFoundIsNotFound) {
  EXPECT_EQ(onionmx::base::outcome_of(onionmx::base::Status::Ok), onionmx::base::Outcome::Found);
  EXPECT_EQ(onionmx::base::outcome_of(onionmx::base::Status::NotFound),
            onionmx::base::Outcome::NotFound);
}

TEST(StatusModel, EveryErrorIsTempOrPermAndNeverNotFound) {
  for (onionmx::base::Status s : kAllStatuses) {
    if (s == onionmx::base::Status::Ok || s == onionmx::base::Status::NotFound) continue;
    const onionmx::base::Outcome o = onionmx::base::outcome_of(s);
    EXPECT_TRUE(o == onionmx::base::Outcome::Temp || o == onionmx::base::Outcome::Perm)
        << static_cast<int>(s);
    EXPECT_NE(o, onionmx::base::Outcome::NotFound) << static_cast<int>(s);
    EXPECT_NE(o, onionmx::base::Outcome::Found) << static_cast<int>(s);
  }
}

TEST(StatusModel, DnsFailureAndResourceErrorsDefer) {
  for (onionmx::base::Status s : {onionmx::base::Status::Temp, onionmx::base::Status::Io,
                                  onionmx::base::Status::NoMem, onionmx::base::Status::Internal}) {
    EXPECT_EQ(onionmx::base::outcome_of(s), onionmx::base::Outcome::Temp) << static_cast<int>(s);
    EXPECT_TRUE(onionmx::base::status_is_temporary(s)) << static_cast<int>(s);
  }
}

TEST(StatusModel, StatusIsTemporaryAgreesWithTheOutcome) {
  for (onionmx::base::Status s : kAllStatuses)
    EXPECT_EQ(onionmx::base::status_is_temporary(s),
              onionmx::base::outcome_of(s) == onionmx::base::Outcome::Temp)
        << static_cast<int>(s);
}

TEST(StatusModel, UnknownCodeDefersRatherThanFallingThroughToClearnet) {
  for (int code : {-9, -99, 1, 42}) {
    const onionmx::base::Status s = static_cast<onionmx::base::Status>(code);
    EXPECT_EQ(onionmx::base::outcome_of(s), onionmx::base::Outcome::Temp) << code;
    EXPECT_FALSE(onionmx::base::status_message(s).empty()) << code;
  }
}

TEST(StatusModel, StatusCodesKeepTheirStableCValues) {
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::Ok), 0);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::NotFound), -1);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::Temp), -2);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::Inval), -3);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::BadData), -4);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::BadSig), -5);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::Io), -6);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::NoMem), -7);
  EXPECT_EQ(static_cast<int>(onionmx::base::Status::Internal), -8);
}

TEST(StatusModel, OutcomeNamesAreTheFixedJsonWords) {
  EXPECT_EQ(onionmx::base::outcome_name(onionmx::base::Outcome::Found), "found");
  EXPECT_EQ(onionmx::base::outcome_name(onionmx::base::Outcome::NotFound), "notfound");
  EXPECT_EQ(onionmx::base::outcome_name(onionmx::base::Outcome::Temp), "temp");
  EXPECT_EQ(onionmx::base::outcome_name(onionmx::base::Outcome::Perm), "perm");
}

TEST(StatusModel, EveryStatusHasItsOwnMessage) {
  std::set<std::string_view> messages;
  for (onionmx::base::Status s : kAllStatuses) {
    const auto m = onionmx::base::status_message(s);
    EXPECT_FALSE(m.empty()) << static_cast<int>(s);
    EXPECT_TRUE(messages.insert(m).second) << "duplicate message: " << m;
  }
}

}  // namespace
