// RavenDB's JavaScript index API, around an index's maps and reduce
// (rookdb.scripting.index_engine). Compiling the index runs its maps' text, which calls
// map(collection, fn); its reduce's text calls groupBy(key).aggregate(fn). Running a map
// never calls Python: load() answers from __rook.docs, handed in before the run, and records
// the ids it did not find there, for the engine to run the map again with them.
var __rook = { docs: {}, missing: [], loaded: [], maps: [], reduce: null };

function __RookMissing() {
  this.message = "load() of a document not read yet";
}

function map(collection, fn) {
  if (typeof collection !== "string" || typeof fn !== "function") {
    throw new TypeError("map(collection, function): a collection name and a function");
  }
  __rook.maps.push({ collection: collection, fn: fn });
}

function groupBy(key) {
  if (typeof key !== "function") {
    throw new TypeError("groupBy(function): the group's key as a function of a result");
  }
  return {
    aggregate: function aggregate(fn) {
      if (typeof fn !== "function") {
        throw new TypeError("aggregate(function): the result as a function of a group");
      }
      __rook.reduce = { key: key, fn: fn };
    },
  };
}

function load(id, collection) {
  if (id === null || id === undefined) {
    return null;
  }
  if (typeof id !== "string") {
    throw new TypeError("load(id, collection): the id must be a string");
  }
  var key = id.toLowerCase();
  __rook.loaded.push(id);
  if (!(key in __rook.docs)) {
    __rook.missing.push(id);
    throw new __RookMissing();
  }
  var stored = __rook.docs[key];
  if (stored === null) {
    return null;
  }
  var doc = JSON.parse(stored);
  if (collection !== undefined && collection !== null) {
    var metadata = doc["@metadata"];
    var found = metadata ? metadata["@collection"] : undefined;
    if (typeof found !== "string" || found.toLowerCase() !== String(collection).toLowerCase()) {
      return null;
    }
  }
  return doc;
}

function id(doc) {
  var metadata = doc === null || doc === undefined ? undefined : doc["@metadata"];
  return metadata === undefined || metadata === null ? null : metadata["@id"];
}

function getMetadata(doc) {
  return doc === null || doc === undefined ? null : doc["@metadata"];
}

var metadataFor = getMetadata;

// RavenDB's dynamic fields: an entry's "_" holds one or a list of {$name, $value, $options}
// (createField makes one), each a field of the entry named at run time.
function createField(name, value, options) {
  return { $name: name, $value: value, $options: options };
}

function __rook_dynamic_fields(entry) {
  if (entry === null || typeof entry !== "object" || !("_" in entry)) {
    return entry;
  }
  var given = entry._;
  delete entry._;
  var fields = Array.isArray(given) ? given : [given];
  for (var i = 0; i < fields.length; i++) {
    var field = fields[i];
    if (field !== null && typeof field === "object" && typeof field.$name === "string") {
      entry[field.$name] = field.$value === undefined ? null : field.$value;
    }
  }
  return entry;
}

function __rook_maps() {
  return JSON.stringify(__rook.maps.map(function (m) { return m.collection; }));
}

function __rook_map(index, docJson, docsJson) {
  __rook.docs = JSON.parse(docsJson);
  __rook.loaded = [];
  __rook.missing = [];
  var doc = JSON.parse(docJson);
  var out = __rook.maps[index].fn.call(doc, doc);
  var entries = out === null || out === undefined ? [] : Array.isArray(out) ? out : [out];
  entries = entries.map(__rook_dynamic_fields);
  return JSON.stringify({ entries: entries, loaded: __rook.loaded });
}

function __rook_key_text(key) {
  return JSON.stringify(key === undefined ? null : key);
}

function __rook_keys(entriesJson) {
  return JSON.stringify(JSON.parse(entriesJson).map(function (entry) {
    return __rook_key_text(__rook.reduce.key(entry));
  }));
}

function __rook_reduce(entriesJson) {
  var values = JSON.parse(entriesJson);
  var reduce = __rook.reduce;
  var groups = [];
  var where = {};
  for (var i = 0; i < values.length; i++) {
    var key = reduce.key(values[i]);
    var text = __rook_key_text(key);
    if (!(text in where)) {
      where[text] = groups.length;
      groups.push({ key: key, values: [] });
    }
    groups[where[text]].values.push(values[i]);
  }
  var out = [];
  for (var j = 0; j < groups.length; j++) {
    var result = reduce.fn(groups[j]);
    if (result !== null && result !== undefined) {
      out.push(result);
    }
  }
  return JSON.stringify(out);
}
