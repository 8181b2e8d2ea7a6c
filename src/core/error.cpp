#include "core/error.hpp"

#include <exception>
#include <new>

namespace dc {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
#define DC_ERROR_CODE(enumerator, name, meaning) \
  case ErrorCode::enumerator:                    \
    return #name;
#include "core/error_codes.def"
#undef DC_ERROR_CODE
  }
  return "UNKNOWN";
}

Error currentExceptionAsError(const std::string& during) {
  try {
    throw;
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::Storage, "Out of memory while " + during);
  } catch (const std::exception& e) {
    return Error(ErrorCode::Internal, "Internal error while " + during + ": " + e.what());
  } catch (...) {
    return Error(ErrorCode::Internal, "Internal error while " + during);
  }
}

}  // namespace dc
