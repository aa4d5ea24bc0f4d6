#pragma once
// File: common/uuid.h
//
// Random (version 4) UUIDs in their canonical text form: 36 characters,
// lowercase hex in groups 8-4-4-4-12 ("9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f").
// A cluster's identity is one of these, recorded in every data directory.
//
// Contract: nothing throws. new_uuid() draws from the kernel's CSPRNG
// (getrandom, falling back to /dev/urandom); if neither works the system is
// unusable for us and the process stops with FJORD_PANIC.

#include <optional>
#include <string>
#include <string_view>

namespace fjord {

/// A fresh random version-4 (RFC 4122 variant) UUID, canonical lowercase text.
std::string new_uuid();

/// The canonical (lowercase) form of `text` if it is a UUID in the 8-4-4-4-12
/// hex form, in either case; nullopt otherwise. Any version is accepted: a
/// UUID is compared as an identifier, never interpreted.
std::optional<std::string> parse_uuid(std::string_view text);

}  // namespace fjord
