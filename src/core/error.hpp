#pragma once
// Typed errors with the codes of docs/errors.md. The core throws dc::Error; the embind layer turns it
// into {code, message}; the JS layer into an Error with .code.
#include <stdexcept>
#include <string>

namespace dc {

// One enumerator per line of error_codes.def (the single list of codes).
enum class ErrorCode {
#define DC_ERROR_CODE(enumerator, name, meaning) enumerator,
#include "core/error_codes.def"
#undef DC_ERROR_CODE
};

// The NAME column of error_codes.def, exactly as the JS API reports it.
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

// The coded error of the exception being handled (call only inside a catch block): a dc::Error
// as it is, std::bad_alloc as STORAGE (out of memory: a resource, not a bug), anything else
// INTERNAL (an engine bug) with `during` in the message.
Error currentExceptionAsError(const std::string& during);

}  // namespace dc
