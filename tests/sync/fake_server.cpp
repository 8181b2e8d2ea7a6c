#include "fake_server.hpp"

#include <algorithm>

#include "sync/http_util.hpp"

namespace dc::test {

// ------------------------------------------------------------------------ FakeClock ----------

void FakeClock::setTimeout(int64_t delayMs, std::function<void()> fn) {
  timers_.emplace(std::make_pair(now_ + std::max<int64_t>(0, delayMs), seq_++), std::move(fn));
}

void FakeClock::runUntilIdle(size_t maxSteps) {
  for (size_t step = 0; step < maxSteps && !timers_.empty(); ++step) {
    auto it = timers_.begin();
    now_ = std::max(now_, it->first.first);
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

// ------------------------------------------------------------------------ faults -------------

const char* faultName(Fault f) {
  switch (f) {
    case Fault::Http500: return "500";
    case Fault::Http502: return "502";
    case Fault::Timeout: return "timeout";
    case Fault::Dropped: return "dropped connection";
    case Fault::MalformedJson: return "malformed JSON";
    case Fault::HtmlError: return "HTML error page";
    case Fault::Unauthorized: return "401";
    case Fault::StatusError200: return "{status:error} with 200";
    case Fault::DuplicatesBlocked: return "duplicates-blocked";
    case Fault::Truncated: return "truncated body";
  }
  return "?";
}

std::vector<Fault> allFaults() {
  return {Fault::Http500,       Fault::Http502,      Fault::Timeout,        Fault::Dropped,           Fault::MalformedJson,
          Fault::HtmlError,     Fault::Unauthorized, Fault::StatusError200, Fault::DuplicatesBlocked, Fault::Truncated};
}

bool faultIsTransient(Fault f) {
  return f == Fault::Http500 || f == Fault::Http502 || f == Fault::Timeout || f == Fault::Dropped;
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse jsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

std::string RecordedRequest::header(const std::string& name) const {
  for (const auto& [k, v] : request.headers) {
    if (k == name) return v;
  }
  return "";
}

// ------------------------------------------------------------------------ FakeServer ---------

void FakeServer::addUser(const std::string& email, const std::string& password, const std::string& userId) {
  users_[email] = User{password, userId};
}

std::string FakeServer::issueToken(const std::string& userId) {
  std::string token = "tok-" + userId + "-" + std::to_string(++tokenSeq_);
  tokens_.insert(token);
  return token;
}

void FakeServer::seedEvent(const Json& event, const std::string& configId) {
  Tenant& t = tenants_[configId];
  std::string guid = event.value("guid", "");
  if (!guid.empty() && !t.guids.insert(guid).second) return;
  Json stored = event;
  stored["syncLevel"] = 1;
  t.events.push_back(stored);
}

std::optional<Fault> FakeServer::takeFault(const std::string& path) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->path != path) continue;
    if (it->skip > 0) {
      --it->skip;
      return std::nullopt;
    }
    Fault f = it->fault;
    if (it->times > 0 && --it->times == 0) faults_.erase(it);
    return f;
  }
  return std::nullopt;
}

std::optional<HttpResponse> FakeServer::handle(const HttpRequest& request) {
  RecordedRequest rec;
  rec.request = request;
  std::string rest = request.url.substr(0, baseUrl.size()) == baseUrl ? request.url.substr(baseUrl.size()) : request.url;
  size_t q = rest.find('?');
  rec.path = rest.substr(0, q);
  if (q != std::string::npos) {
    rec.rawQuery = rest.substr(q + 1);
    size_t pos = 0;
    while (pos <= rec.rawQuery.size()) {
      size_t amp = rec.rawQuery.find('&', pos);
      std::string pair = rec.rawQuery.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
      size_t eq = pair.find('=');
      rec.query[http::urlDecode(pair.substr(0, eq))] = eq == std::string::npos ? "" : http::urlDecode(pair.substr(eq + 1));
      if (amp == std::string::npos) break;
      pos = amp + 1;
    }
  }
  requests.push_back(rec);

  std::optional<Fault> fault = takeFault(rec.path);
  if (fault) {
    switch (*fault) {
      case Fault::Http500: return jsonResponse(500, Json{{"error", "Internal server error"}});
      case Fault::Http502: {
        return textResponse(502, "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>");
      }
      case Fault::MalformedJson: return textResponse(200, "{\"events\": [ {\"guid\": oops");
      case Fault::HtmlError: return textResponse(404, "<!DOCTYPE html><html><body><pre>Cannot GET " + rec.path + "</pre></body></html>");
      case Fault::Unauthorized: return jsonResponse(401, Json{{"error", "Invalid or expired token"}});
      case Fault::StatusError200: return jsonResponse(200, Json{{"status", "error"}, {"message", "Unknown configId"}});
      case Fault::DuplicatesBlocked:
        return jsonResponse(200, Json{{"error", "Potential duplicates found. Please resolve them first."}});
      case Fault::Timeout:
        route(rec);
        return std::nullopt;
      case Fault::Dropped: {
        route(rec);
        HttpResponse r;
        r.networkError = "connection reset";
        return r;
      }
      case Fault::Truncated: {
        HttpResponse r = route(rec);
        r.body = r.body.substr(0, r.body.size() / 2);
        return r;
      }
    }
  }
  return route(rec);
}

bool FakeServer::authorized(const RecordedRequest& rec) const {
  std::string auth = rec.header("Authorization");
  return auth.rfind("Bearer ", 0) == 0 && tokens_.count(auth.substr(7));
}

HttpResponse FakeServer::route(const RecordedRequest& rec) {
  const std::string& m = rec.request.method;
  Json body = Json::parse(rec.request.body.empty() ? "{}" : rec.request.body, nullptr, false);
  if (m == "POST" && rec.path == "/api/users/login") return login(body);
  if (!authorized(rec)) return jsonResponse(401, Json{{"error", "Unauthorized"}});
  if (rec.header("Content-Type") != "application/json") return jsonResponse(415, Json{{"error", "JSON only"}});
  if (m == "GET" && rec.path == "/api/users/check-token") return jsonResponse(200, Json{{"valid", true}});
  if (m == "POST" && rec.path == "/api/sync/push") return push(body);
  if (m == "GET" && rec.path == "/api/sync/pull") return pull(rec);
  if (m == "POST" && rec.path == "/api/sync/push/audit-logs") return pushAudit(body);
  if (m == "GET" && rec.path == "/api/sync/pull/audit-logs") return pullAudit(rec);
  return textResponse(404, "<html><body>Cannot " + m + " " + rec.path + "</body></html>");
}

HttpResponse FakeServer::login(const Json& body) {
  auto user = body.is_object() ? users_.find(body.value("email", "")) : users_.end();
  if (user == users_.end() || body.value("password", "") != user->second.password) {
    return jsonResponse(401, Json{{"message", "Invalid email or password"}});
  }
  return jsonResponse(200, Json{{"token", issueToken(user->second.userId)}, {"userId", user->second.userId}});
}

HttpResponse FakeServer::push(const Json& body) {
  if (!body.is_object() || !body.contains("events") || !body["events"].is_array()) {
    return jsonResponse(400, Json{{"error", "events must be an array"}});
  }
  if (body["events"].size() > maxPushEvents) {
    return textResponse(413, "<html><head><title>413 Request Entity Too Large</title></head><body></body></html>");
  }
  Tenant& t = tenants_[body.value("configId", "default")];
  Json accepted = Json::array(), rejected = Json::array();
  for (const auto& e : body["events"]) {
    std::string guid = e.value("guid", "");
    if (!original && rejectOnPush) {
      if (auto why = rejectOnPush(e)) {
        rejected.push_back(Json{{"guid", guid}, {"code", "INVALID_FORM"}, {"message", *why}});
        continue;
      }
    }
    if (t.guids.insert(guid).second) {  // idempotent by guid
      Json stored = e;
      stored["syncLevel"] = 1;
      t.events.push_back(stored);
    }
    accepted.push_back(guid);
  }
  if (original) return jsonResponse(200, Json{{"status", "success"}});
  return jsonResponse(200, Json{{"status", "success"}, {"accepted", accepted}, {"rejected", rejected}});
}

HttpResponse FakeServer::pull(const RecordedRequest& rec) {
  Tenant& t = tenants_[rec.query.count("configId") ? rec.query.at("configId") : "default"];
  std::string since = rec.query.count("since") ? rec.query.at("since") : "";
  Json page = Json::array();
  if (original) {
    // Ordered by timestamp, strictly after `since`, 10 a page; nextCursor = last timestamp of a full page.
    std::vector<Json> sorted = t.events;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Json& a, const Json& b) { return a.value("timestamp", "") < b.value("timestamp", ""); });
    for (const auto& e : sorted) {
      if (page.size() == originalPageSize) break;
      if (since.empty() || e.value("timestamp", "") > since) page.push_back(e);
    }
    Json next = page.size() == originalPageSize ? Json(page.back()["timestamp"]) : Json(nullptr);
    return jsonResponse(200, Json{{"events", page}, {"nextCursor", next}});
  }
  // Extended: ordered by ingestion sequence; the cursor is the sequence number.
  size_t from = 0, limit = defaultLimit;
  try {
    if (!since.empty()) from = std::stoul(since);
    if (rec.query.count("limit")) limit = std::stoul(rec.query.at("limit"));
  } catch (const std::exception&) {
    return jsonResponse(400, Json{{"error", "since and limit must be numbers"}});
  }
  limit = std::max<size_t>(1, std::min(limit, maxLimit));
  size_t to = std::min(t.events.size(), from + limit);
  if (honoursMaxBytes && rec.query.count("maxBytes")) {
    // The reference server's rule (web/server/page-budget.js): 256 bytes for the envelope, each
    // entry its bytes + 16, an entry that cannot fit alone is a placeholder, at least one entry.
    size_t maxBytes = std::stoul(rec.query.at("maxBytes"));
    size_t used = 256, i = from;
    for (; i < to; ++i) {
      Json e = t.events[i];
      std::string text = e.dump();
      if (text.size() + 16 + 256 > maxBytes) {
        e = Json{{"guid", e.value("guid", "")}, {"timestamp", e.value("timestamp", "")}, {"tooLarge", text.size()}};
        text = e.dump();
      }
      if (i > from && used + text.size() + 16 > maxBytes) break;
      used += text.size() + 16;
      page.push_back(std::move(e));
    }
    to = i;
  } else {
    for (size_t i = from; i < to; ++i) page.push_back(t.events[i]);
  }
  Json next = to < t.events.size() ? Json(std::to_string(to)) : Json(nullptr);
  return jsonResponse(200, Json{{"events", page}, {"nextCursor", next}, {"cursor", std::to_string(std::max(from, to))}});
}

HttpResponse FakeServer::pushAudit(const Json& body) {
  if (!body.is_object() || !body.contains("auditLogs") || !body["auditLogs"].is_array()) {
    return jsonResponse(400, Json{{"error", "auditLogs must be an array"}});
  }
  Tenant& t = tenants_[body.value("configId", "default")];
  for (const auto& a : body["auditLogs"]) {
    if (t.auditGuids.insert(a.value("guid", "")).second) t.audit.push_back(a);
  }
  return jsonResponse(200, Json{{"status", "success"}});
}

HttpResponse FakeServer::pullAudit(const RecordedRequest& rec) {
  Tenant& t = tenants_[rec.query.count("configId") ? rec.query.at("configId") : "default"];
  std::string since = rec.query.count("since") ? rec.query.at("since") : "";
  Json out = Json::array();
  if (honoursMaxBytes && rec.query.count("paged") && rec.query.at("paged") == "1") {
    // The reference server's paged audit pull: by position, `limit` and `maxBytes` (entries over
    // the budget as placeholders), {auditLogs, cursor, nextCursor}. A timestamp `since` starts at 0.
    size_t from = 0;
    if (!since.empty() && std::all_of(since.begin(), since.end(), ::isdigit)) from = std::stoul(since);
    size_t limit = rec.query.count("limit") ? std::stoul(rec.query.at("limit")) : 100000;
    size_t maxBytes = rec.query.count("maxBytes") ? std::stoul(rec.query.at("maxBytes")) : SIZE_MAX;
    size_t used = 256, i = from;
    for (; i < t.audit.size() && i < from + limit; ++i) {
      Json a = t.audit[i];
      std::string text = a.dump();
      if (maxBytes != SIZE_MAX && text.size() + 16 + 256 > maxBytes) {
        a = Json{{"guid", a.value("guid", "")}, {"timestamp", a.value("timestamp", "")}, {"tooLarge", text.size()}};
        text = a.dump();
      }
      if (i > from && maxBytes != SIZE_MAX && used + text.size() + 16 > maxBytes) break;
      used += text.size() + 16;
      out.push_back(std::move(a));
    }
    ++auditPages;
    Json next = i < t.audit.size() ? Json(std::to_string(i)) : Json(nullptr);
    return jsonResponse(200, Json{{"auditLogs", out}, {"nextCursor", next}, {"cursor", std::to_string(i)}});
  }
  for (const auto& a : t.audit) {
    if (since.empty() || a.value("timestamp", "") > since) out.push_back(a);
  }
  return jsonResponse(200, out);
}

// ------------------------------------------------------------------------ FakeTransport ------

void FakeTransport::send(const HttpRequest& request, ResponseCallback done) {
  if (offline) {
    HttpResponse r;
    r.networkError = "offline";
    clock_.setTimeout(latencyMs, [done, r] { done(r); });
    return;
  }
  std::optional<HttpResponse> response = server_.handle(request);
  if (!response) {  // the server never answers: the request times out
    clock_.setTimeout(request.timeoutMs, [done] {
      HttpResponse r;
      r.timedOut = true;
      r.networkError = "timeout";
      done(r);
    });
    return;
  }
  if (response->body.size() > request.maxResponseBytes) {  // as the real transports: not received
    response->body.clear();
    response->tooLarge = true;
  }
  clock_.setTimeout(latencyMs, [this, request, done, r = *response] {
    if (beforeDeliver) beforeDeliver(request);
    done(r);
  });
}

}  // namespace dc::test
