<?php
// A web shop's producer, as the seed's PHP code pushes orders: one JSON object per order,
// LPUSHed to the Redis list topup consumes (php-redis, Debian's php-redis package).
//   php redis_producer.php HOST PORT LIST PREFIX COUNT [MALFORMED]
// Pushes COUNT orders with references PREFIX-0 .. PREFIX-(COUNT-1), carriers and amounts in
// turn, then MALFORMED (0 by default) broken messages of three kinds in turn: not JSON, a
// missing key, an invalid phone number. Prints "pushed N" and exits 0.
[$_, $host, $port, $list, $prefix, $count] = $argv;
$malformed = (int)($argv[6] ?? 0);

$redis = new Redis();
$redis->connect($host, (int)$port, 5.0);

$prefixes = ['138', '139', '150', '130', '131', '186', '133', '153', '189'];
$amounts = [1000, 2000, 3000, 5000, 10000, 20000];
$pushed = 0;
// A pipeline of 500 LPUSHes at a time: as fast as the server takes them.
for ($start = 0; $start < $count; $start += 500) {
    $pipe = $redis->multi(Redis::PIPELINE);
    for ($i = $start; $i < min($start + 500, $count); $i++) {
        $order = [
            'client_ref' => "$prefix-$i",
            'phone' => $prefixes[$i % count($prefixes)] . sprintf('%08d', $i % 100000000),
            'amount_fen' => $amounts[$i % count($amounts)],
        ];
        $pipe->lPush($list, json_encode($order));
    }
    $pushed += count($pipe->exec());
}
$broken = [
    '{"client_ref": "' . $prefix . '-bad-json", "phone": ',
    json_encode(['client_ref' => "$prefix-no-amount", 'phone' => '13800138000']),
    json_encode(['client_ref' => "$prefix-bad-phone", 'phone' => '12345', 'amount_fen' => 1000]),
];
for ($i = 0; $i < $malformed; $i++) {
    $redis->lPush($list, $broken[$i % count($broken)]);
    $pushed++;
}
echo "pushed $pushed\n";
