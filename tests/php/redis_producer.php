<?php
// A web shop's producer, as the seed's PHP code pushes orders: one JSON object per order,
// LPUSHed to the Redis list topup consumes (php-redis, Debian's php-redis package).
//   php redis_producer.php HOST PORT LIST PREFIX COUNT [MALFORMED]
// Pushes COUNT orders with references PREFIX-0 .. PREFIX-(COUNT-1) (shop_orders.php), then
// MALFORMED (0 by default) broken messages of three kinds in turn. Prints "pushed N" and
// exits 0.
require __DIR__ . '/shop_orders.php';
[$_, $host, $port, $list, $prefix, $count] = $argv;
$malformed = (int)($argv[6] ?? 0);

$redis = new Redis();
$redis->connect($host, (int)$port, 5.0);

$pushed = 0;
// A pipeline of 500 LPUSHes at a time: as fast as the server takes them.
for ($start = 0; $start < $count; $start += 500) {
    $pipe = $redis->multi(Redis::PIPELINE);
    for ($i = $start; $i < min($start + 500, $count); $i++)
        $pipe->lPush($list, shop_order($prefix, $i));
    $pushed += count($pipe->exec());
}
for ($i = 0; $i < $malformed; $i++) {
    $redis->lPush($list, broken_message($prefix, $i));
    $pushed++;
}
echo "pushed $pushed\n";
