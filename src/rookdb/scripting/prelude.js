// RavenDB's patch API, around a patch script (rookdb.scripting.engine). Every function here
// is named: an error's stack frames in them are skipped to find the place in the script.
// The script never calls Python: load() answers from __rook.docs, handed in before the run,
// and records the ids it did not find there, for the engine to run the script again.
// put() of an id storage completes ("users/", "users|") answers the completed id: the ids
// completed so far come in __rook.named (prefix and id, in the order of those puts); a put
// past them records its prefix in __rook.unnamed and throws, as load() does, for the engine
// to complete it and run the script again. Without completion (__rook.completes false), the
// id as given, completed when written.
// Counters: counter() answers from __rook.counters (a document's counters by lower-cased name,
// handed in as documents are) and records the ids it did not find there, as load() does;
// incrementCounter() and deleteCounter() are recorded in __rook.counterOps, for storage to
// apply in the batch, and kept in __rook.counterLocal, for counter() to see them.
var __rook = {
  docs: {}, local: {}, writes: [], missing: [], named: [], unnamed: [], completes: false,
  counters: {}, counterLocal: {}, counterOps: [], counterMissing: [],
};

function __RookMissing() {
  this.message = "load() of a document not read yet";
}

function __rook_text(id, what) {
  if (typeof id !== "string" || id === "") {
    throw new TypeError(what + ": the id must be a non-empty string");
  }
  return id.toLowerCase();
}

function load(id) {
  var key = __rook_text(id, "load(id)");
  if (key in __rook.local) {
    var written = __rook.local[key];
    return written === null ? null : JSON.parse(JSON.stringify(written));
  }
  if (!(key in __rook.docs)) {
    __rook.missing.push(id);
    throw new __RookMissing();
  }
  var stored = __rook.docs[key];
  return stored === null ? null : JSON.parse(stored);
}

function __rook_name(id) {
  var last = id.charAt(id.length - 1);
  if (!__rook.completes || (last !== "/" && last !== "|")) {
    return id;
  }
  var index = __rook.unnamed.length;
  __rook.unnamed.push(id);
  var named = __rook.named[index];
  if (named === undefined) {
    throw new __RookMissing();
  }
  if (named[0] !== id) {
    throw new Error("put(id, doc): the script asked for another id (" + id + ") when run again");
  }
  return named[1];
}

function put(id, doc, changeVector) {
  __rook_text(id, "put(id, doc)");
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new TypeError("put(id, doc): the document must be an object");
  }
  id = __rook_name(id);
  var key = id.toLowerCase();
  var copy = JSON.parse(JSON.stringify(doc));
  __rook.local[key] = copy;
  __rook.writes.push({
    op: "put", id: id, doc: copy, cv: changeVector === undefined ? null : changeVector,
  });
  return id;
}

function del(id, changeVector) {
  var key = __rook_text(id, "del(id)");
  __rook.local[key] = null;
  __rook.writes.push({ op: "del", id: id, cv: changeVector === undefined ? null : changeVector });
}

function id(doc) {
  var metadata = doc === null || doc === undefined ? undefined : doc["@metadata"];
  return metadata === undefined || metadata === null ? null : metadata["@id"];
}

function getMetadata(doc) {
  return doc === null || doc === undefined ? null : doc["@metadata"];
}

function __rook_counter_of(docOrId, name, what) {
  var target = docOrId;
  if (docOrId !== null && typeof docOrId === "object") {
    target = id(docOrId);
  }
  if (typeof target !== "string" || target === "") {
    throw new TypeError(what + ": the document must be a document or its id");
  }
  if (typeof name !== "string" || name === "") {
    throw new TypeError(what + ": the counter name must be a non-empty string");
  }
  return target;
}

function __rook_counter_entry(target, name) {
  var key = target.toLowerCase();
  var local = __rook.counterLocal[key];
  if (local === undefined) {
    local = __rook.counterLocal[key] = {};
  }
  return local;
}

function counter(docOrId, name) {
  var target = __rook_counter_of(docOrId, name, "counter(doc, name)");
  var key = target.toLowerCase();
  var entry = (__rook.counterLocal[key] || {})[name.toLowerCase()];
  if (entry !== undefined && entry.reset) {
    return entry.incremented ? entry.delta : null;
  }
  if (!(key in __rook.counters)) {
    __rook.counterMissing.push(target);
    throw new __RookMissing();
  }
  var stored = __rook.counters[key][name.toLowerCase()];
  if (entry === undefined) {
    return stored === undefined ? null : stored;
  }
  return (stored === undefined ? 0 : stored) + entry.delta;
}

function counterRaw(docOrId, name) {
  var value = counter(docOrId, name);
  return value === null ? {} : { A: value };
}

function incrementCounter(docOrId, name, delta) {
  var target = __rook_counter_of(docOrId, name, "incrementCounter(doc, name, delta)");
  if (delta === undefined) {
    delta = 1;
  }
  if (typeof delta !== "number" || !Number.isSafeInteger(delta)) {
    throw new TypeError("incrementCounter(doc, name, delta): the delta must be an integer");
  }
  var local = __rook_counter_entry(target, name);
  var entry = local[name.toLowerCase()];
  if (entry === undefined) {
    entry = local[name.toLowerCase()] = { reset: false, incremented: false, delta: 0 };
  }
  entry.delta += delta;
  entry.incremented = true;
  __rook.counterOps.push({ id: target, type: "Increment", name: name, delta: delta });
}

function deleteCounter(docOrId, name) {
  var target = __rook_counter_of(docOrId, name, "deleteCounter(doc, name)");
  __rook_counter_entry(target, name)[name.toLowerCase()] = {
    reset: true, incremented: false, delta: 0,
  };
  __rook.counterOps.push({ id: target, type: "Delete", name: name, delta: 0 });
}

function __rook_run(docJson, argsJson, docsJson, namedJson, countersJson) {
  __rook.docs = JSON.parse(docsJson);
  __rook.counters = JSON.parse(countersJson);
  __rook.named = JSON.parse(namedJson);
  __rook.completes = __rook.named !== null;
  if (!__rook.completes) {
    __rook.named = [];
  }
  var doc = JSON.parse(docJson);
  __patch.call(doc, JSON.parse(argsJson));
  return JSON.stringify({ doc: doc, writes: __rook.writes, counters: __rook.counterOps });
}
