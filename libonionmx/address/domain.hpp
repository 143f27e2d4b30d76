// domain.hpp - the one syntax check for domain names, shared by the key
// parser, the onion parser (subdomain labels) and the configuration.
//
// RFC 1035 lengths (name <= 253, labels 1-63); labels of a-z, 0-9, '-' and
// '_' (service labels and some real hostnames carry '_'), not starting or
// ending with '-'.  Lower case is expected: callers fold case first.
#pragma once

#include <string>
#include <string_view>

namespace onionmx::address {

// Empty when `domain` is well formed, else why not.
std::string domain_syntax_problem(std::string_view domain);

}  // namespace onionmx::address
