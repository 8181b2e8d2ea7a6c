// Store mounting and the flush glue behind the core's PlatformFlush hook (src/core/storage.hpp).
// Runs inside the Emscripten factory (--pre-js), so FS, IDBFS and NODEFS are in scope.
//
//   Module.dcMount(kind, name)  -> Promise<path>   kind: "idbfs" (browser; IndexedDB database
//                                                  named after the mount) or "nodefs" (Node; name
//                                                  is a real directory)
//   Module.dcUnmount(path)
//   Module.dcFlush(kind, path, files, id)          called by C++; answers Module.completeFlush(id, code, message)
//
// IDBFS facts this relies on (docs/toolchain.md, 'IDBFS'): one syncfs = one IndexedDB transaction (atomic);
// change detection is by mtime in milliseconds; two syncfs in flight are not queued; the error
// callback may get `undefined` or never fire (quota).

var dcMounts = {};       // path -> {kind, chain: Promise serialising this mount's flushes, root}
var dcMountCount = 0;    // unique mount points for NODEFS directories
var dcLastStamp = 0;     // last mtime given to a flushed file; strictly increasing
var dcFlushTimeoutMs = 30000;

function dcStorageMessage(error, where) {
  var name = error && error.name;
  if (name === 'QuotaExceededError' || (error && /quota/i.test(String(error.message))))
    return 'Storage is full (QuotaExceededError) while saving ' + where + '; nothing already saved was lost';
  var text = error ? (error.message || String(error)) : 'unknown error';
  return 'Could not save ' + where + ': ' + text;
}

// The mount's own syncfs: only this store's files, not every mount in the module.
function dcSyncMount(mount, populate) {
  return new Promise(function(resolve, reject) {
    var settled = false;
    var timer = setTimeout(function() {
      settled = true;
      reject(new Error('IndexedDB did not answer within ' + (dcFlushTimeoutMs / 1000) + ' s'));
    }, dcFlushTimeoutMs);
    mount.type.syncfs(mount, populate, function(error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // 3.1.6 may report success as undefined and failure as undefined too: only an error-ish
      // value is an error; a missing callback is caught by the timer.
      if (error) reject(error); else resolve();
    });
  });
}

Module['dcMount'] = function(kind, name) {
  var path;
  if (kind === 'idbfs') {
    path = '/idb/' + name;
    FS.mkdirTree(path);
    FS.mount(IDBFS, {}, path);
  } else if (kind === 'nodefs') {
    var fs = require('fs');
    fs.mkdirSync(name, { recursive: true });
    path = '/nodefs/' + (++dcMountCount);
    FS.mkdirTree(path);
    FS.mount(NODEFS, { root: name }, path);
  } else {
    return Promise.reject(new Error('unknown mount kind ' + kind));
  }
  var entry = { kind: kind, root: name, chain: Promise.resolve() };
  dcMounts[path] = entry;
  if (kind !== 'idbfs') return Promise.resolve(path);
  // syncfs(true): load the store's files from IndexedDB into memory before the core reads them.
  return dcSyncMount(FS.lookupPath(path).node.mount, true).then(function() { return path; }, function(error) {
    delete dcMounts[path];
    FS.unmount(path);
    throw new Error(dcStorageMessage(error, 'the store'));
  });
};

Module['dcUnmount'] = function(path) {
  var entry = dcMounts[path];
  if (!entry) return Promise.resolve();
  delete dcMounts[path];
  // Let a flush still running finish before the files disappear from the FS.
  return entry.chain.then(function() { FS.unmount(path); });
};

function dcFlushIdbfs(path, files) {
  // IDBFS writes a file only when its mtime differs from the stored one, at millisecond
  // resolution: a file written twice in one millisecond would keep the first version. Every
  // flushed file gets a stamp strictly greater than any stamp given before.
  var stamp = Math.max(Date.now(), dcLastStamp + 1);
  dcLastStamp = stamp;
  for (var i = 0; i < files.length; i++) {
    var file = path + '/' + files[i];
    if (FS.analyzePath(file).exists) FS.utime(file, stamp, stamp);
  }
  return dcSyncMount(FS.lookupPath(path).node.mount, false);
}

function dcFlushNodefs(entry, files) {
  // NODEFS writes go straight to the real files; fsync makes them survive a power cut too
  // (a killed process keeps them anyway). Removed files have nothing to sync.
  var fs = require('fs');
  var pathModule = require('path');
  var sync = function(file, flags) {
    var fd;
    try { fd = fs.openSync(file, flags); } catch (e) { if (e.code === 'ENOENT') return; throw e; }
    try { fs.fsyncSync(fd); } catch (e) { if (e.code !== 'EINVAL' && e.code !== 'EISDIR' && e.code !== 'EPERM') throw e; }
    finally { fs.closeSync(fd); }
  };
  for (var i = 0; i < files.length; i++) sync(pathModule.join(entry.root, files[i]), 'r+');
  sync(entry.root, 'r');  // the directory entry of new/renamed files
  return Promise.resolve();
}

Module['dcFlush'] = function(kind, path, files, id) {
  var entry = dcMounts[path];
  var run = function() {
    if (!entry) return Promise.reject(new Error('the store is not mounted'));
    return kind === 'idbfs' ? dcFlushIdbfs(path, files) : dcFlushNodefs(entry, files);
  };
  // Never two flushes of a mount in flight (the core coalesces too; this keeps it true whatever
  // calls us). Completion is always asynchronous, as the core's group commit expects.
  var done = (entry ? entry.chain : Promise.resolve()).then(run).then(function() {
    Module['completeFlush'](id, '', '');
  }, function(error) {
    Module['completeFlush'](id, 'STORAGE', dcStorageMessage(error, 'the store'));
  });
  if (entry) entry.chain = done;
};

// Test hook: shortens the IndexedDB timeout guard.
Module['dcSetFlushTimeout'] = function(ms) { dcFlushTimeoutMs = ms; };
