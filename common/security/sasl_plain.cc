// File: common/security/sasl_plain.cc
//
// The PLAIN message parser. The user must pass the stored-username rule
// (validate_username): a name no user can have is refused as malformed
// rather than looked up, which reveals nothing a client could not read off
// the rule itself.

#include "common/security/sasl_plain.h"

#include <algorithm>
#include <string>

namespace fjord::security {

namespace {

error_info malformed(std::string_view reason) {
    return error_info(sasl_errc::malformed_message,
                      "malformed PLAIN message: " + std::string(reason));
}

}  // namespace

result<plain_credentials> parse_sasl_plain(std::string_view message) {
    if (message.size() > max_plain_message_length) {
        return malformed("longer than " + std::to_string(max_plain_message_length) + " bytes");
    }
    const auto nuls = std::count(message.begin(), message.end(), '\0');
    if (nuls != 2) {
        return malformed("expected authzid NUL user NUL password, found " + std::to_string(nuls) +
                         " NUL" + (nuls == 1 ? "" : "s"));
    }
    const size_t first = message.find('\0');
    const size_t second = message.find('\0', first + 1);
    plain_credentials out{std::string(message.substr(0, first)),
                          std::string(message.substr(first + 1, second - first - 1)),
                          std::string(message.substr(second + 1))};
    if (out.user.empty()) {
        return malformed("the user is empty");
    }
    if (auto valid = validate_username(out.user); !valid) {
        return malformed("user: " + std::string(valid.error().reason()));
    }
    if (out.password.empty()) {
        return malformed("the password is empty");
    }
    if (out.password.size() > max_password_length) {
        return malformed("the password is longer than " + std::to_string(max_password_length) +
                         " bytes");
    }
    if (!out.authzid.empty() && out.authzid != out.user) {
        return error_info(sasl_errc::authorization_id_mismatch,
                          "PLAIN message: the authorization id must be empty or the user");
    }
    return out;
}

}  // namespace fjord::security
