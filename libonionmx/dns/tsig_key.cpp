#include "dns/tsig_key.hpp"

#include <optional>
#include <vector>

#include "base/strings.hpp"
#include "crypto/hmac.hpp"
#include "dns/message.hpp"

namespace onionmx::dns {
namespace {

struct Token {
  enum Kind { Word, String, Punct, End } kind = End;
  std::string text;
  int line = 0;
};

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  base::Result<Token> next() {
    for (;;) {
      while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                     text_[pos_] == '\r' || text_[pos_] == '\n')) {
        if (text_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= text_.size()) return Token{Token::End, "", line_};
      if (text_[pos_] == '#' || text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      if (text_.substr(pos_, 2) == "/*") {
        const std::size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) return error("unterminated /* comment");
        for (std::size_t i = pos_; i < end; ++i)
          if (text_[i] == '\n') ++line_;
        pos_ = end + 2;
        continue;
      }
      break;
    }
    const char c = text_[pos_];
    if (c == '{' || c == '}' || c == ';') {
      ++pos_;
      return Token{Token::Punct, std::string(1, c), line_};
    }
    if (c == '"') {
      const std::size_t end = text_.find_first_of("\"\n\\", pos_ + 1);
      if (end == std::string_view::npos || text_[end] != '"')
        return error("unterminated string (or a backslash or line break inside it)");
      Token t{Token::String, std::string(text_.substr(pos_ + 1, end - pos_ - 1)), line_};
      pos_ = end + 1;
      return t;
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const auto u = static_cast<unsigned char>(text_[pos_]);
      const bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      u == '-' || u == '_' || u == '.' || u == '+' || u == '/' || u == '=';
      if (!ok) break;
      ++pos_;
    }
    if (pos_ == start)
      return error("unexpected character '" + base::printable(text_.substr(pos_, 1)) + "'");
    return Token{Token::Word, std::string(text_.substr(start, pos_ - start)), line_};
  }

  tl::unexpected<base::Error> error(const std::string& what) const {
    return base::fail(base::Status::BadData, source_ + ":" + std::to_string(line_) + ": " + what);
  }
  tl::unexpected<base::Error> error_at(int line, const std::string& what) const {
    return base::fail(base::Status::BadData, source_ + ":" + std::to_string(line) + ": " + what);
  }

 private:
  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Token::End:
      return "end of file";
    case Token::Punct:
      return "'" + t.text + "'";
    case Token::String:
      return "a string";
    case Token::Word:
      return "'" + base::printable(t.text, 40) + "'";
  }
  return "?";
}

std::string supported_algorithms() {
  return "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512";
}

// Key names are domain names (RFC 8945 §4.2): checked by encoding them.
std::optional<std::string> key_name_problem(std::string_view name) {
  auto n = encode_name(name);
  if (!n) return n.error().detail;
  if (name == ".") return std::string("root name");
  return std::nullopt;
}

}  // namespace

base::Result<TsigKey> parse_tsig_key_file(std::string_view text, const std::string& source) {
  Lexer lx(text, source);
  auto expect = [&](Token::Kind kind, const char* punct, const char* what) -> base::Result<Token> {
    auto t = lx.next();
    if (!t) return t;
    if (t->kind != kind || (punct != nullptr && t->text != punct))
      return lx.error_at(t->line, std::string("expected ") + what + ", found " + describe(*t));
    return t;
  };

  auto kw = lx.next();
  if (!kw) return base::fail(kw.error());
  if (kw->kind == Token::End) return lx.error_at(kw->line, "no key statement");
  if (kw->kind != Token::Word || kw->text != "key")
    return lx.error_at(kw->line, "expected 'key', found " + describe(*kw));
  auto name = lx.next();
  if (!name) return base::fail(name.error());
  if (name->kind != Token::Word && name->kind != Token::String)
    return lx.error_at(name->line, "expected the key name, found " + describe(*name));
  if (auto p = key_name_problem(name->text))
    return lx.error_at(name->line, "bad key name \"" + base::printable(name->text) + "\": " + *p);
  ONIONMX_TRY(expect(Token::Punct, "{", "'{'"));

  std::optional<TsigAlgorithm> alg;
  std::optional<std::vector<std::uint8_t>> secret;
  for (;;) {
    auto t = lx.next();
    if (!t) return base::fail(t.error());
    if (t->kind == Token::Punct && t->text == "}") break;
    if (t->kind != Token::Word)
      return lx.error_at(t->line, "expected 'algorithm', 'secret' or '}', found " + describe(*t));
    if (t->text == "algorithm") {
      if (alg) return lx.error_at(t->line, "algorithm given twice");
      auto v = lx.next();
      if (!v) return base::fail(v.error());
      if (v->kind != Token::Word && v->kind != Token::String)
        return lx.error_at(v->line, "expected an algorithm name, found " + describe(*v));
      alg = tsig_algorithm_from_name(v->text);
      if (!alg)
        return lx.error_at(v->line, "unsupported algorithm '" + base::printable(v->text, 40) +
                                        "' (supported: " + supported_algorithms() + ")");
    } else if (t->text == "secret") {
      if (secret) return lx.error_at(t->line, "secret given twice");
      auto v = lx.next();
      if (!v) return base::fail(v.error());
      if (v->kind != Token::String)
        return lx.error_at(
            v->line, "expected the secret as a quoted base64 string, found " +
                         (v->kind == Token::Word ? std::string("an unquoted word") : describe(*v)));
      secret = crypto::base64_decode(v->text);
      if (!secret) return lx.error_at(v->line, "secret is not valid base64");
      if (secret->empty()) return lx.error_at(v->line, "secret is empty");
    } else {
      return lx.error_at(t->line, "unknown statement '" + base::printable(t->text, 40) +
                                      "' in key (expected algorithm or secret)");
    }
    ONIONMX_TRY(expect(Token::Punct, ";", "';'"));
  }
  ONIONMX_TRY(expect(Token::Punct, ";", "';' after '}'"));
  auto end = lx.next();
  if (!end) return base::fail(end.error());
  if (end->kind != Token::End) {
    if (end->kind == Token::Word && end->text == "key")
      return lx.error_at(end->line, "more than one key statement (give a file with one key)");
    return lx.error_at(end->line, "unexpected " + describe(*end) + " after the key statement");
  }
  if (!alg) return lx.error("key has no algorithm");
  if (!secret) return lx.error("key has no secret");
  return TsigKey{normalize_name(name->text), *alg, std::move(*secret)};
}

base::Result<TsigKey> parse_tsig_key_arg(std::string_view arg) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = arg.find(':', start);
    parts.push_back(arg.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 2 && parts.size() != 3)
    return base::fail(base::Status::Inval, "--tsig: expected [ALGORITHM:]NAME:SECRET");
  TsigKey key;
  if (parts.size() == 3) {
    auto alg = tsig_algorithm_from_name(parts[0]);
    if (!alg)
      return base::fail(base::Status::Inval, "--tsig: unsupported algorithm '" +
                                                 base::printable(parts[0], 40) +
                                                 "' (supported: " + supported_algorithms() + ")");
    key.algorithm = *alg;
  }
  const auto name = parts[parts.size() - 2];
  if (auto p = key_name_problem(name))
    return base::fail(base::Status::Inval,
                      "--tsig: bad key name \"" + base::printable(name) + "\": " + *p);
  auto secret = crypto::base64_decode(parts.back());
  if (!secret) return base::fail(base::Status::Inval, "--tsig: secret is not valid base64");
  if (secret->empty()) return base::fail(base::Status::Inval, "--tsig: secret is empty");
  key.name = normalize_name(name);
  key.secret = std::move(*secret);
  return key;
}

}  // namespace onionmx::dns
