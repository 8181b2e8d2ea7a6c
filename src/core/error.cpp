#include "core/error.hpp"

namespace dc {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidForm: return "INVALID_FORM";
    case ErrorCode::InvalidMemberData: return "INVALID_MEMBER_DATA";
    case ErrorCode::InvalidGroup: return "INVALID_GROUP";
    case ErrorCode::EntityNotFound: return "ENTITY_NOT_FOUND";
    case ErrorCode::NoApplier: return "NO_APPLIER";
    case ErrorCode::DuplicatesExist: return "DUPLICATES_EXIST";
    case ErrorCode::Unauthorized: return "UNAUTHORIZED";
    case ErrorCode::Network: return "NETWORK";
    case ErrorCode::ServerError: return "SERVER_ERROR";
    case ErrorCode::BadResponse: return "BAD_RESPONSE";
    case ErrorCode::Storage: return "STORAGE";
    case ErrorCode::StoreLocked: return "STORE_LOCKED";
    case ErrorCode::Closed: return "CLOSED";
    case ErrorCode::Internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

}  // namespace dc
