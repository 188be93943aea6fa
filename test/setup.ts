import nock from 'nock';

// No test may reach the internet: vendor APIs are faked with nock; our own servers and Postgres
// listen on loopback.
nock.disableNetConnect();
nock.enableNetConnect((host) => /^(localhost|127\.0\.0\.1|\[::1\]|::1)(:\d+)?$/.test(host));
