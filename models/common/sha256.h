// SHA-256 (NIST FIPS 180-4, section 6.2), for checking that a file is the one recorded: the FID-F network's
// weights, a Two-Stage VAE's first stage.
#pragma once

#include <string>

namespace trifecta {

// The digest of bytes as 64 lowercase hex digits (what `sha256sum` prints).
std::string sha256_hex(const std::string& bytes);
// The digest of a file's contents; an unreadable file is an Error naming it.
std::string sha256_hex_of_file(const std::string& path);

}  // namespace trifecta
