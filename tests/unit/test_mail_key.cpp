// test_mail_key.cpp - MTA lookup keys (Postfix socketmap_table(5), transport(5)
// "TABLE SEARCH ORDER"; docs/status-model.md "Keys that are not domains") to
// the domain onionmx routes.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>

#include "address/mail_key.hpp"

namespace onionmx::address {
// Readable gtest output for KeyKind values.
void PrintTo(KeyKind k, std::ostream* os) {
  switch (k) {
    case KeyKind::Domain:
      *os << "Domain";
      return;
    case KeyKind::Wildcard:
      *os << "Wildcard";
      return;
    case KeyKind::AddressLiteral:
      *os << "AddressLiteral";
      return;
    case KeyKind::Unusable:
      *os << "Unusable";
      return;
  }
  *os << static_cast<int>(k);
}
}  // namespace onionmx::address

namespace {

using onionmx::address::KeyKind;
using onionmx::address::MailKey;
using onionmx::address::parse_mail_key;

constexpr const char* kV1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead";
constexpr const char* kV1Upper = "AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4BQEAD";

const char* kind_name(KeyKind k) {
  switch (k) {
    case KeyKind::Domain:
      return "Domain";
    case KeyKind::Wildcard:
      return "Wildcard";
    case KeyKind::AddressLiteral:
      return "AddressLiteral";
    case KeyKind::Unusable:
      return "Unusable";
  }
  return "?";
}

::testing::AssertionResult IsDomain(std::string_view key, std::string_view want) {
  const MailKey k = parse_mail_key(key);
  if (k.kind != KeyKind::Domain)
    return ::testing::AssertionFailure()
           << "key \"" << key << "\": kind " << kind_name(k.kind) << " (" << k.reason
           << "), expected Domain \"" << want << "\"";
  if (k.domain != want)
    return ::testing::AssertionFailure()
           << "key \"" << key << "\": domain \"" << k.domain << "\", expected \"" << want << "\"";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsKind(std::string_view key, KeyKind want) {
  const MailKey k = parse_mail_key(key);
  if (k.kind != want)
    return ::testing::AssertionFailure()
           << "key \"" << key << "\": kind " << kind_name(k.kind) << " (domain \"" << k.domain
           << "\"), expected " << kind_name(want);
  if (k.reason.empty())
    return ::testing::AssertionFailure() << "key \"" << key << "\": no reason given";
  if (!k.domain.empty())
    return ::testing::AssertionFailure()
           << "key \"" << key << "\": non-Domain key carries domain \"" << k.domain << "\"";
  return ::testing::AssertionSuccess();
}

// --------------------------------------------------- keys Postfix really sent

TEST(MailKey, PostfixFullAddressGivesTheLowerCasedDomain) {
  EXPECT_TRUE(IsDomain("User+ext@A.B.Example.ORG", "a.b.example.org"));
  EXPECT_TRUE(IsDomain("Other+ext@Ok.Sub.Example.ORG", "ok.sub.example.org"));
}

TEST(MailKey, QuotedLocalPartWithASpaceStillGivesTheDomain) {
  EXPECT_TRUE(IsDomain("\"foo bar\"@ok.example.org", "ok.example.org"));
}

TEST(MailKey, BareDomainKeysFromPostmapAndOpenSmtpdAreUsedAsTheDomain) {
  EXPECT_TRUE(IsDomain("ok.example.org", "ok.example.org"));
  EXPECT_TRUE(IsDomain("Mixed.Example.ORG", "mixed.example.org"));
}

TEST(MailKey, WildcardProbeIsWildcardNotADomain) { EXPECT_TRUE(IsKind("*", KeyKind::Wildcard)); }

TEST(MailKey, AddressLiteralsAreNeverLookedUp) {
  EXPECT_TRUE(IsKind("[192.0.2.1]", KeyKind::AddressLiteral));
  EXPECT_TRUE(IsKind("user@[192.0.2.1]", KeyKind::AddressLiteral));
  EXPECT_TRUE(IsKind("user@[IPv6:2001:db8::1]", KeyKind::AddressLiteral));
}

TEST(MailKey, OneTrailingDotIsStripped) {
  EXPECT_TRUE(IsDomain("user@Example.ORG.", "example.org"));
  EXPECT_TRUE(IsDomain("example.org.", "example.org"));
}

TEST(MailKey, TwoTrailingDotsAreUnusable) {
  EXPECT_TRUE(IsKind("user@example.org..", KeyKind::Unusable));
}

TEST(MailKey, TheDomainIsWhatFollowsTheLastAt) {
  EXPECT_TRUE(IsDomain("\"a@b\"@Example.ORG", "example.org"));
  EXPECT_TRUE(IsDomain("a@b@c.example", "c.example"));
  EXPECT_TRUE(IsDomain("a@not-this.example@this.example", "this.example"));
}

TEST(MailKey, EmptyKeyAndKeysWithoutADomainAreUnusable) {
  EXPECT_TRUE(IsKind("", KeyKind::Unusable));
  EXPECT_TRUE(IsKind("@", KeyKind::Unusable));
  EXPECT_TRUE(IsKind("user@", KeyKind::Unusable));
  EXPECT_TRUE(IsKind("user@.", KeyKind::Unusable));
  EXPECT_TRUE(IsKind(".", KeyKind::Unusable));
}

// U-label keys are looked up as their A-labels (UTS #46 non-transitional,
// libidn2; address/idna.hpp).  The expected A-labels are the RFC 3492
// Punycode of the mapped labels, as `idn2 --nontransitional` prints them.
TEST(MailKey, ULabelDomainsBecomeTheirALabels) {
  const char* bucher = "xn--bcher-kva.example";
  EXPECT_TRUE(
      IsDomain("b\xc3\xbc"
               "cher.example",
               bucher));  // bücher.example, bare
  EXPECT_TRUE(
      IsDomain("user@b\xc3\xbc"
               "cher.example",
               bucher));  // with a local part
  EXPECT_TRUE(
      IsDomain("\xc3\x9c@B\xc3\x9c"
               "CHER.EXAMPLE.",
               bucher));  // Ü@BÜCHER.EXAMPLE. (upper-case U-label mapped)
  EXPECT_TRUE(
      IsDomain("u@B\xc3\xbc"
               "cher.Example",
               bucher));  // mixed case
  EXPECT_TRUE(
      IsDomain("u@b\xc3\xbc"
               "cher\xe3\x80\x82"
               "example",
               bucher));  // U+3002 ideographic full stop is a dot
  // Non-transitional: ß stays ß (transitional processing would give "strasse").
  EXPECT_TRUE(
      IsDomain("u@stra\xc3\x9f"
               "e.example",
               "xn--strae-oqa.example"));
  // A-labels and ASCII keys pass through as before.
  EXPECT_TRUE(IsDomain("\xc3\x9c@xn--bcher-kva.example", bucher));
  EXPECT_TRUE(IsDomain("u@XN--BCHER-KVA.example", bucher));
}

TEST(MailKey, InvalidInternationalisedDomainsAreUnusableAndSayWhy) {
  for (const char* key : {
           "u@\xff"
           "bad.example",  // not UTF-8
           "u@b\xc3"
           ".example",  // truncated UTF-8 sequence
           "u@\xc0\xae"
           "example",  // overlong encoding of '.'
           "u@\xe2\x92\x88"
           "x.example",  // U+2488 DIGIT ONE FULL STOP: disallowed
           "u@a\xe2\x80\x8d"
           "b.example",                   // U+200D ZERO WIDTH JOINER outside its context (CONTEXTJ)
           "u@\xf0\x9f\x92\xa9.example",  // U+1F4A9: disallowed in IDNA2008
           "u@\xee\x80\x80.example",      // U+E000: private use
           "u@-b\xc3\xbc"
           "cher.example",  // leading hyphen
       }) {
    const MailKey k = parse_mail_key(key);
    EXPECT_EQ(k.kind, KeyKind::Unusable) << key << " -> " << k.domain;
    EXPECT_NE(k.reason.find("IDNA"), std::string::npos) << key << ": " << k.reason;
    EXPECT_TRUE(k.domain.empty()) << key;
  }
  // Mapped fine by UTS #46, but not a host name: the ASCII syntax check
  // still applies (U+00A0 maps to a space; '!' is left alone).
  EXPECT_TRUE(IsKind("u@\xc2\xa0x.example", KeyKind::Unusable));
  EXPECT_TRUE(
      IsKind("u@a!b.b\xc3\xbc"
             "cher",
             KeyKind::Unusable));
}

// Onion names are ASCII (rend-spec-v3, RFC 7686): a non-ASCII one is
// refused, also when only the mapping makes it end in "onion".
TEST(MailKey, NonAsciiOnionNamesAreUnusable) {
  for (const std::string& key :
       {std::string("u@b\xc3\xbc"
                    "cher.onion"),
        std::string("u@smtp\xc3\xbc.") + kV1 + ".onion",
        std::string("u@") + kV1 + "\xef\xbc\x8e" + "onion",  // U+FF0E full-width full stop
        std::string("u@") + kV1 +
            ".\xef\xbd\x8f\xef\xbd\x8e\xef\xbd\x89\xef\xbd\x8f\xef\xbd\x8e"}) {
    const MailKey k = parse_mail_key(key);
    EXPECT_EQ(k.kind, KeyKind::Unusable) << key << " -> " << k.domain;
    EXPECT_EQ(k.reason, "non-ASCII .onion name") << key;
  }
}

TEST(MailKey, OverlongKeyIsUnusable) {
  const std::string local(1020, 'u');
  EXPECT_TRUE(IsKind(local + "@example.org", KeyKind::Unusable));
  EXPECT_TRUE(IsKind(std::string(2000, 'x'), KeyKind::Unusable));
}

TEST(MailKey, DomainsUpTo253CharactersAreAcceptedLongerOnesNot) {
  const std::string d253 = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                           std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(d253.size(), 253u);
  EXPECT_TRUE(IsDomain("u@" + d253, d253));
  EXPECT_TRUE(IsKind("u@e" + d253, KeyKind::Unusable));
}

TEST(MailKey, LabelOf63IsAcceptedAndOf64IsNot) {
  EXPECT_TRUE(
      IsDomain("u@" + std::string(63, 'a') + ".example", std::string(63, 'a') + ".example"));
  EXPECT_TRUE(IsKind("u@" + std::string(64, 'a') + ".example", KeyKind::Unusable));
}

TEST(MailKey, DomainsWithBadLabelsAreUnusable) {
  for (const char* key : {"u@exa mple.org", "u@-bad.example", "u@bad-.example", "u@a..b",
                          "u@.example.org", "u@exa!mple.org", "u@example.org\r", "u@example.org\n",
                          "u@exam\tple.org", "u@example.org/x", "u@exa\\mple.org"}) {
    EXPECT_TRUE(IsKind(key, KeyKind::Unusable)) << key;
  }
  const MailKey k = parse_mail_key(std::string_view("u@exa\0mple.org", 14));
  EXPECT_EQ(k.kind, KeyKind::Unusable);
}

// A C string would end at the NUL ("a", "user@example.org"): the whole key
// is refused instead, with that reason, wherever the NUL is.
TEST(MailKey, KeyWithANulByteIsRefusedWithThatReason) {
  using namespace std::string_view_literals;
  for (std::string_view key : {"a\0b.example"sv, "user@example.org\0"sv, "\0"sv,
                               "user\0x@example.org"sv, "u@exa\0mple.org"sv}) {
    const MailKey k = parse_mail_key(key);
    EXPECT_EQ(k.kind, KeyKind::Unusable) << key.size();
    EXPECT_EQ(k.reason, "key contains a NUL byte") << key.size();
    EXPECT_TRUE(k.domain.empty());
  }
}

TEST(MailKey, UpperCaseOnionRecipientIsFoldedToTheOnionDomain) {
  EXPECT_TRUE(
      IsDomain(std::string("Postmaster@") + kV1Upper + ".ONION", std::string(kV1) + ".onion"));
  EXPECT_TRUE(IsDomain(std::string("user@SMTP.") + kV1Upper + ".Onion.",
                       std::string("smtp.") + kV1 + ".onion"));
  EXPECT_TRUE(IsDomain(std::string(kV1Upper) + ".ONION", std::string(kV1) + ".onion"));
}

TEST(MailKey, OnionDomainWithTwoTrailingDotsIsUnusableLikeAnyOtherDomain) {
  // Found by fuzz_mail_key: one dot is stripped here, and the onion check
  // must not strip a second one.  The contract is "no trailing dot".
  const MailKey k = parse_mail_key(std::string("user@") + kV1 + ".onion..");
  EXPECT_EQ(k.kind, KeyKind::Unusable) << "domain \"" << k.domain << "\"";
  if (k.kind == KeyKind::Domain) {
    EXPECT_NE(k.domain.back(), '.') << k.domain;
  }
}

TEST(MailKey, OnionDomainsArePassedOnForTheOnionValidatorToJudge) {
  // Invalid onion names are still Domain: the onion source answers them with
  // the precise reason (bad checksum, v2 unsupported, ...).
  EXPECT_TRUE(IsDomain("u@boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion",
                       "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion"));
  EXPECT_TRUE(IsDomain("u@expyuzz4wqqyqhjn.onion", "expyuzz4wqqyqhjn.onion"));
}

TEST(MailKey, NullSenderRecipientAndLocalRecipientsAreOrdinaryDomains) {
  EXPECT_TRUE(IsDomain("MAILER-DAEMON@vm.localdomain", "vm.localdomain"));
  EXPECT_TRUE(IsDomain("root@localhost", "localhost"));
}

}  // namespace
