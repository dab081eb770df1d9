// An IndexedDB that lives in the page's memory, for frames the browser denies storage.
//
// Why: on a portal the frame is cross-site, and with third-party storage blocked (Chrome's
// "block third-party cookies", incognito windows, Chromium's default here) opening an
// IndexedDB fails. PyScript opens two at boot (its packages cache and pyscript.fs's handles)
// and Pyodide's loader waits for one: the frame never became ready and said nothing. What
// PyScript keeps there is only a cache, so memory that lasts as long as the page is enough.
// boot.js installs this only after a real IndexedDB failed to open, and says so on the console.
//
// It covers what PyScript's IDBMap uses: open (upgradeneeded, success), one object store,
// transactions, and count, clear, delete, get, getKey, getAllKeys, put, close. Values are
// cloned in and out, as IndexedDB does; keys are compared by their JSON form.

const databases = new Map(); // name -> {stores: Map(name -> Map(key JSON -> [key, value]))}

function later(fn) {
  queueMicrotask(fn);
}

class Request extends EventTarget {
  constructor() {
    super();
    this.result = undefined;
    this.error = null;
    this.readyState = "pending";
    this.onsuccess = null;
    this.onerror = null;
  }
  _succeed(result) {
    this.result = result;
    this.readyState = "done";
    const event = new Event("success");
    Object.defineProperty(event, "target", { value: this });
    this.dispatchEvent(event);
    this.onsuccess?.(event);
  }
}

class Store {
  constructor(entries) {
    this._entries = entries;
  }
  _do(work) {
    const request = new Request();
    later(() => request._succeed(work()));
    return request;
  }
  count() { return this._do(() => this._entries.size); }
  clear() { return this._do(() => { this._entries.clear(); }); }
  delete(key) { return this._do(() => { this._entries.delete(JSON.stringify(key)); }); }
  get(key) {
    return this._do(() => {
      const found = this._entries.get(JSON.stringify(key));
      return found ? structuredClone(found[1]) : undefined;
    });
  }
  getKey(key) { return this._do(() => this._entries.get(JSON.stringify(key))?.[0]); }
  getAllKeys() { return this._do(() => [...this._entries.values()].map(([key]) => key)); }
  put(value, key) {
    return this._do(() => {
      this._entries.set(JSON.stringify(key), [key, structuredClone(value)]);
      return key;
    });
  }
}

class Transaction extends EventTarget {
  constructor(database) {
    super();
    this._database = database;
    this.oncomplete = null;
    later(() => later(() => this.oncomplete?.(new Event("complete"))));
  }
  objectStore(name) {
    const entries = this._database._stores.get(name);
    if (!entries) throw new DOMException(`no object store ${name}`, "NotFoundError");
    return new Store(entries);
  }
}

class Database extends EventTarget {
  constructor(name, stores) {
    super();
    this.name = name;
    this._stores = stores;
  }
  get objectStoreNames() {
    const names = [...this._stores.keys()];
    return Object.assign(names, { contains: (name) => this._stores.has(name) });
  }
  createObjectStore(name) {
    if (!this._stores.has(name)) this._stores.set(name, new Map());
  }
  transaction() {
    return new Transaction(this);
  }
  close() {}
}

export const memoryIndexedDB = {
  open(name) {
    const request = new Request();
    request.onupgradeneeded = null;
    later(() => {
      const known = databases.get(name);
      const stores = known ?? new Map();
      const database = new Database(name, stores);
      if (!known) {
        databases.set(name, stores);
        const transaction = new Transaction(database);
        const event = new Event("upgradeneeded");
        Object.defineProperty(event, "target", { value: { result: database, transaction } });
        request.onupgradeneeded?.(event);
      }
      request._succeed(database);
    });
    return request;
  },
  deleteDatabase(name) {
    const request = new Request();
    later(() => { databases.delete(name); request._succeed(undefined); });
    return request;
  },
};

// Whether this page may use the browser's IndexedDB (false in a cross-site frame whose
// third-party storage is blocked: opening throws, or fails a moment later).
export function indexedDBWorks() {
  return new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.open("bx24-probe");
    } catch {
      resolve(false);
      return;
    }
    request.onsuccess = () => {
      request.result.close();
      resolve(true);
    };
    request.onerror = (event) => {
      event.preventDefault();
      resolve(false);
    };
  });
}
