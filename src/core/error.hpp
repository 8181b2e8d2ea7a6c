#pragma once
// Typed errors with the codes of docs/errors.md. The core throws dc::Error; the embind layer turns it
// into {code, message}; the JS layer into an Error with .code.
#include <stdexcept>
#include <string>

namespace dc {

enum class ErrorCode {
  InvalidForm,
  InvalidMemberData,
  InvalidGroup,
  EntityNotFound,
  NoApplier,
  DuplicatesExist,
  Unauthorized,
  Network,
  ServerError,
  BadResponse,
  Storage,
  StoreLocked,
  Closed,
  Internal,  // a check of the engine's own invariants failed (a bug, not bad input)
};

// "INVALID_FORM", "NETWORK", ... exactly as the JS API reports them.
const char* errorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, int httpStatus = 0)
      : std::runtime_error(message), code_(code), httpStatus_(httpStatus) {}
  ErrorCode code() const { return code_; }
  const char* codeName() const { return errorCodeName(code_); }
  // HTTP status for errors that came from a server response, else 0.
  int httpStatus() const { return httpStatus_; }

 private:
  ErrorCode code_;
  int httpStatus_;
};

}  // namespace dc
