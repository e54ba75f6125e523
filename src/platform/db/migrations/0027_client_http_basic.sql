-- HTTP Basic (user name and the API key as password) is accepted on the OpenRosa routes under /odk,
-- which ODK Collect calls with nothing else, and elsewhere only from the clients an administrator
-- allowed it: it used to be accepted on the whole API.
alter table api_clients add column http_basic boolean not null default false;
